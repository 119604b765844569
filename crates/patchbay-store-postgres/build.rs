//! `sqlx::migrate!` embeds `migrations/` at compile time, but cargo only
//! rebuilds for changed Rust sources: a new or edited migration must
//! rebuild the crate too.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
