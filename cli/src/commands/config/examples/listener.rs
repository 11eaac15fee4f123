//! LISTEN/NOTIFY (profile `{profile}`): a listener on a connection of its own that
//! reconnects (and says so) when the connection is lost.

use pgtide::config::Config;
use pgtide::listener::{Listener, ListenerEvent};
use pgtide::{Pool, sqlx};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), pgtide::Error> {
    let config = Config::loader().profile("{profile}").load()?;
    let mut listener = Listener::connect(&config).await?;
    listener.listen("pgtide_example").await?;

    // Any session may notify; here, a pool of the same configuration.
    let pool = Pool::connect(&config).await?;
    sqlx::query("SELECT pg_notify('pgtide_example', 'hello')")
        .execute(&pool)
        .await?;

    match listener.recv().await? {
        ListenerEvent::Notification(n) => {
            println!("notification on {}: {}", n.channel, n.payload);
        }
        // Notifications sent while the connection was down are lost: re-read what they
        // were about.
        ListenerEvent::Reconnected => println!("reconnected: notifications may have been missed"),
    }
    pool.close().await;
    Ok(())
}
