use duet_models::Model;

#[derive(Clone, Model)]
struct Note {
    id: i64,
    #[duet(regex = "[a-z")]
    slug: String,
}

fn main() {}
