// A `PoolSize` can only come from the checked `PoolSize::new`.
use pgtide::config::PoolSize;

fn main() {
    let _ = PoolSize { min: 5, max: 0 };
}
