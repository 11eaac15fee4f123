// `build()` exists only once a pool size is given.
use pgtide::SecretString;
use pgtide::config::Config;

fn main() {
    let _ = Config::builder()
        .password(SecretString::from("s3cret"))
        .build();
}
