use duet_models::Model;

#[derive(Clone, Model)]
struct Note {
    id: i64,
    #[duet(max_length = 3)]
    count: i64,
}

fn main() {}
