use duet_models::Model;

#[derive(Clone, Model)]
struct Note {
    id: i64,
    #[duet(auto_now_add)]
    stamp: String,
}

fn main() {}
