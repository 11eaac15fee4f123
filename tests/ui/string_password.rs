// Nor is an owned `String`.
use pgtide::config::{Config, PoolSize};

fn main() {
    let password = String::from("s3cret");
    let _ = Config::builder()
        .password(password)
        .pool_size(PoolSize::new(1, 10).unwrap())
        .build();
}
