use duet_models::Model;

#[derive(Clone, Model)]
struct Note {
    id: i64,
    #[duet(owner)]
    author: i64,
}

fn main() {}
