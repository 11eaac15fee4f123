// The password is a `SecretString`; plain text is not accepted.
use pgtide::config::{Config, PoolSize};

fn main() {
    let _ = Config::builder()
        .password("s3cret")
        .pool_size(PoolSize::new(1, 10).unwrap())
        .build();
}
