use duet_models::Choices;

#[derive(Clone, Copy, Choices)]
enum Size {
    Small,
    Custom(u32),
}

fn main() {}
