use duet_models::Model;

#[derive(Clone, Model)]
struct Note {
    title: String,
}

fn main() {}
