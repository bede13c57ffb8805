//! `mailvet`: the native binary. The only part of mailvet that opens port 25.

fn main() {
    println!("mailvet {}", env!("CARGO_PKG_VERSION"));
}
