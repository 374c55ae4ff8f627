use duet_models::Model;

#[derive(Clone, Copy)]
enum Mood {
    Happy,
    Sad,
}

#[derive(Clone, Model)]
struct Note {
    id: i64,
    mood: Mood,
}

fn main() {}
