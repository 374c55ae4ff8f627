//! The keyed list diff: items are matched by the value of one of their fields.
//!
//! # How the ops are found
//!
//! Items of the old list whose key is gone are removed first. Among the kept items, a
//! longest increasing subsequence of their new positions (taken in old order) is *stable*:
//! those items are already in the right relative order and are never touched. Every other
//! item — kept but out of place, or new — is placed just before the next stable item in
//! the new order (or at the end), processing the new list front to back.
//!
//! Why that is right: stable items keep their relative order, and every other item ends up
//! in the block glued just before the stable item that follows it in the new order, so the
//! final list is `block₀ stable₁ block₁ stable₂ … blockₖ`, which is the new list.
//!
//! # How the indices are found
//!
//! Each op needs the *current* index of an item while the list is being changed. Every
//! position an item ever occupies gets a rank in one fixed total order consistent with all
//! intermediate lists: for each old position `p`, the block glued before old item `p`
//! (when `p` is stable) comes just before old item `p` itself; the block at the end comes
//! last. A Fenwick tree over the ranks marks which are occupied, so an item's current
//! index is the number of occupied ranks before its own, found in O(log n).

use std::collections::HashMap;

use serde_json::{Number, Value};

use super::ListOp;

/// The identity of a list item: the scalar at its key field. A string and a number are
/// never equal, nor are `1` and `1.0` (as for [`Value`]'s equality).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Key<'a> {
    Str(&'a str),
    Num(&'a Number),
}

/// The keyed list ops turning `old` into `new`, or `None` when the lists cannot be keyed by
/// `key`: an item is not an object, has no string or number at `key`, or shares its key
/// with another item of the same list.
pub(super) fn diff(old: &[Value], new: &[Value], key: &str) -> Option<Vec<ListOp>> {
    let (old_keys, old_index) = keys(old, key)?;
    let (new_keys, new_index) = keys(new, key)?;
    // Where each old item went, and where each new item came from.
    let old_to_new: Vec<Option<usize>> = old_keys.iter().map(|k| new_index.get(k).copied()).collect();
    let new_to_old: Vec<Option<usize>> = new_keys.iter().map(|k| old_index.get(k).copied()).collect();

    let stable = stable_items(&old_to_new);
    let is_stable_new = |j: usize| new_to_old[j].is_some_and(|p| stable[p]);
    let ranks = Ranks::new(old.len(), new.len(), &new_to_old, &stable);

    let mut occupied = Fenwick::new(ranks.total, ranks.old.iter().copied());
    let mut len = old.len();
    let mut ops = Vec::new();

    // 1. Removals, front to back.
    for (p, _) in old_to_new.iter().enumerate().filter(|(_, to)| to.is_none()) {
        ops.push(ListOp::Remove {
            index: occupied.take(ranks.old[p]),
        });
        len -= 1;
    }

    // 2. Moves and insertions, in the new order.
    for (j, value) in new.iter().enumerate() {
        if is_stable_new(j) {
            continue;
        }
        let rank = ranks.block[j];
        match new_to_old[j] {
            Some(p) => {
                let from = occupied.take(ranks.old[p]);
                let to = occupied.put(rank);
                if from != to {
                    ops.push(ListOp::Move { from, to });
                }
            }
            None => {
                let index = occupied.put(rank);
                match ops.last_mut() {
                    Some(ListOp::Append { values }) if index == len => values.push(value.clone()),
                    _ if index == len => ops.push(ListOp::Append {
                        values: vec![value.clone()],
                    }),
                    _ => ops.push(ListOp::Insert {
                        index,
                        value: value.clone(),
                    }),
                }
                len += 1;
            }
        }
    }

    // 3. Changed values, at their final index.
    for (j, (value, from)) in new.iter().zip(&new_to_old).enumerate() {
        if let Some(p) = *from
            && old[p] != *value
        {
            ops.push(ListOp::Replace {
                index: j,
                value: value.clone(),
            });
        }
    }
    Some(ops)
}

/// Every item's key, and key → index; `None` when the list cannot be keyed.
fn keys<'a>(list: &'a [Value], key: &str) -> Option<(Vec<Key<'a>>, HashMap<Key<'a>, usize>)> {
    let mut keys = Vec::with_capacity(list.len());
    let mut index = HashMap::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let item_key = match item.as_object()?.get(key)? {
            Value::String(s) => Key::Str(s),
            Value::Number(n) => Key::Num(n),
            _ => return None,
        };
        if index.insert(item_key, i).is_some() {
            return None;
        }
        keys.push(item_key);
    }
    Some((keys, index))
}

/// Which old items stay put: for each old position, whether it belongs to a longest
/// increasing subsequence of the new positions of the kept items, in old order.
/// O(n log n) (patience sorting).
fn stable_items(old_to_new: &[Option<usize>]) -> Vec<bool> {
    const NONE: usize = usize::MAX;
    let kept: Vec<(usize, usize)> = old_to_new
        .iter()
        .enumerate()
        .filter_map(|(p, to)| Some((p, (*to)?)))
        .collect();
    // tails[l]: index in `kept` of the smallest tail of an increasing run of length l + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut previous = vec![NONE; kept.len()];
    for (i, &(_, to)) in kept.iter().enumerate() {
        let at = tails.partition_point(|&t| kept[t].1 < to);
        if at > 0 {
            previous[i] = tails[at - 1];
        }
        if at == tails.len() {
            tails.push(i);
        } else {
            tails[at] = i;
        }
    }
    let mut stable = vec![false; old_to_new.len()];
    let mut i = tails.last().copied().unwrap_or(NONE);
    while i != NONE {
        stable[kept[i].0] = true;
        i = previous[i];
    }
    stable
}

/// The fixed order of every position an item can occupy (see the module docs).
struct Ranks {
    /// The rank of old item `p` where it was.
    old: Vec<usize>,
    /// The rank of new item `j` once placed, for items that are not stable (others: unused).
    block: Vec<usize>,
    /// The number of ranks.
    total: usize,
}

impl Ranks {
    fn new(old_len: usize, new_len: usize, new_to_old: &[Option<usize>], stable: &[bool]) -> Self {
        // The block of each unstable new item: the old position of the next stable item in
        // the new order, or `old_len` for the block at the end.
        let mut anchor = vec![old_len; new_len];
        let mut next_stable = old_len;
        for j in (0..new_len).rev() {
            match new_to_old[j] {
                Some(p) if stable[p] => next_stable = p,
                _ => anchor[j] = next_stable,
            }
        }
        let is_unstable = |j: &usize| !new_to_old[*j].is_some_and(|p| stable[p]);
        let mut block_len = vec![0; old_len + 1];
        for j in (0..new_len).filter(is_unstable) {
            block_len[anchor[j]] += 1;
        }
        // Ranks: block 0, old item 0, block 1, old item 1, …, block `old_len`.
        let mut block_start = Vec::with_capacity(old_len + 1);
        let mut old = Vec::with_capacity(old_len);
        let mut next = 0;
        for (p, len) in block_len.iter().enumerate() {
            block_start.push(next);
            next += len;
            if p < old_len {
                old.push(next);
                next += 1;
            }
        }
        // Within a block, items keep the new order (blocks are runs of the new order).
        let mut block = vec![0; new_len];
        for j in (0..new_len).filter(is_unstable) {
            block[j] = block_start[anchor[j]];
            block_start[anchor[j]] += 1;
        }
        Ranks {
            old,
            block,
            total: next,
        }
    }
}

/// A Fenwick (binary indexed) tree over ranks `0..len`, each occupied or not.
struct Fenwick {
    /// 1-based: `tree[i]` counts the occupied ranks in `(i - lowbit(i), i]`.
    tree: Vec<usize>,
}

impl Fenwick {
    /// A tree of `len` ranks with `occupied` (ascending or not) occupied, in O(len).
    fn new(len: usize, occupied: impl Iterator<Item = usize>) -> Self {
        let mut tree = vec![0; len + 1];
        for rank in occupied {
            tree[rank + 1] += 1;
        }
        for i in 1..=len {
            let parent = i + (i & i.wrapping_neg());
            if parent <= len {
                tree[parent] += tree[i];
            }
        }
        Fenwick { tree }
    }

    /// The number of occupied ranks before `rank`: the current index of the item there.
    fn before(&self, rank: usize) -> usize {
        let mut i = rank;
        let mut sum = 0;
        while i > 0 {
            sum += self.tree[i];
            i &= i - 1;
        }
        sum
    }

    /// Frees `rank` (occupied), returning the index its item had.
    fn take(&mut self, rank: usize) -> usize {
        let index = self.before(rank);
        let mut i = rank + 1;
        while i < self.tree.len() {
            self.tree[i] -= 1;
            i += i & i.wrapping_neg();
        }
        index
    }

    /// Occupies `rank` (free), returning the index its item gets.
    fn put(&mut self, rank: usize) -> usize {
        let index = self.before(rank);
        let mut i = rank + 1;
        while i < self.tree.len() {
            self.tree[i] += 1;
            i += i & i.wrapping_neg();
        }
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_items_is_a_longest_increasing_subsequence() {
        let stable = stable_items(&[Some(3), Some(0), None, Some(2), Some(4), Some(1)]);
        // New positions in old order: 3 0 _ 2 4 1 → a longest increasing run has 3 items.
        assert_eq!(stable.iter().filter(|s| **s).count(), 3);
        let kept: Vec<usize> = [3, 0, 9, 2, 4, 1]
            .iter()
            .zip(&stable)
            .filter(|(_, s)| **s)
            .map(|(to, _)| *to)
            .collect();
        assert!(kept.is_sorted(), "{kept:?}");
        assert!(!stable[2]);
        assert_eq!(stable_items(&[]), Vec::<bool>::new());
        assert_eq!(stable_items(&[None, None]), vec![false, false]);
        assert_eq!(stable_items(&[Some(0), Some(1), Some(2)]), vec![true; 3]);
    }

    #[test]
    fn fenwick_counts_occupied_ranks() {
        let mut tree = Fenwick::new(6, [0, 2, 3, 5].into_iter());
        assert_eq!(tree.before(0), 0);
        assert_eq!(tree.before(3), 2);
        assert_eq!(tree.before(6), 4);
        assert_eq!(tree.take(3), 2);
        assert_eq!(tree.before(6), 3);
        assert_eq!(tree.put(1), 1);
        assert_eq!(tree.before(4), 3);
        assert_eq!(tree.before(6), 4);
    }
}
