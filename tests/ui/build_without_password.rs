// `build()` exists only once a password is given.
use pgtide::config::{Config, PoolSize};

fn main() {
    let _ = Config::builder()
        .pool_size(PoolSize::new(1, 10).unwrap())
        .build();
}
