use duet_models::Model;

#[derive(Clone, Model)]
struct Note {
    id: i64,
    #[duet(colour = "red")]
    title: String,
}

fn main() {}
