//! LISTEN/NOTIFY: notifications arrive; a terminated backend is replaced, the channels are
//! listened to again, the gap is reported, and the next notification still arrives.

mod common;

use std::time::Duration;

use common::{SOON, config};
use pgtide::Pool;
use pgtide::listener::{Listener, ListenerEvent, Notification};
use pgtide_testkit::TestDb;

async fn next(listener: &mut Listener) -> ListenerEvent {
    tokio::time::timeout(SOON, listener.recv())
        .await
        .expect("an event within the deadline")
        .expect("no error")
}

fn notification(event: ListenerEvent) -> Notification {
    match event {
        ListenerEvent::Notification(n) => n,
        other => panic!("expected a notification, got {other:?}"),
    }
}

#[tokio::test]
async fn notifications_arrive_on_the_channels_listened_to() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 2).build()?;
    let pool = Pool::connect(&cfg).await?;
    let mut listener = Listener::connect(&cfg).await?;
    listener.listen("Books").await?;
    listener.listen("other").await?;
    sqlx::query("SELECT pg_notify('books', 'wrong case'), pg_notify('Books', 'added 1')")
        .execute(&pool)
        .await?;
    let n = notification(next(&mut listener).await);
    assert_eq!(
        (n.channel.as_str(), n.payload.as_str()),
        ("Books", "added 1")
    );
    listener.unlisten("Books").await?;
    sqlx::query("SELECT pg_notify('Books', 'unheard'), pg_notify('other', '')")
        .execute(&pool)
        .await?;
    let n = notification(next(&mut listener).await);
    assert_eq!((n.channel.as_str(), n.payload.as_str()), ("other", ""));
    Ok(())
}

/// The listener's backend: the other one of this app name (the pool runs one at a time),
/// other than `not`.
async fn listening_pid(pool: &Pool, app: &str, not: Option<i32>) -> i32 {
    let mut found = None;
    common::eventually("the listener's backend", SOON, async || {
        found = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity
              WHERE application_name = $1 AND pid <> pg_backend_pid() AND pid IS DISTINCT FROM $2",
        )
        .bind(app)
        .bind(not)
        .fetch_optional(pool)
        .await
        .unwrap();
        found.is_some()
    })
    .await;
    found.unwrap()
}

#[tokio::test]
async fn a_terminated_backend_is_replaced_and_the_next_notification_arrives() -> anyhow::Result<()>
{
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 2)
        .retry(common::retry(20, 50, 200, Duration::from_secs(30)))
        .build()?;
    let app = cfg.connection().application_name.clone();
    let pool = Pool::connect(&cfg).await?;
    let mut listener = pool.listener().await?;
    listener.listen("events").await?;
    let pid = listening_pid(&pool, &app, None).await;
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&pool)
        .await?;
    assert!(killed);
    assert_eq!(next(&mut listener).await, ListenerEvent::Reconnected);
    sqlx::query("SELECT pg_notify('events', 'after the gap')")
        .execute(&pool)
        .await?;
    let n = notification(next(&mut listener).await);
    assert_eq!(n.payload, "after the gap");
    let new_pid = listening_pid(&pool, &app, Some(pid)).await;
    assert_ne!(new_pid, pid);
    Ok(())
}

#[tokio::test]
async fn reconnecting_retries_while_the_server_is_unreachable() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let proxy = common::proxy(&db).await;
    let cfg = common::config_via(&db, &proxy, 1, 1)
        .retry(common::retry(200, 20, 50, Duration::from_secs(30)))
        .build()?;
    let pool = Pool::connect(&config(&db, 1, 1).build()?).await?;
    let mut listener = Listener::connect(&cfg).await?;
    listener.listen("ch").await?;
    proxy.set_mode(pgtide_testkit::ProxyMode::Refuse);
    proxy.cut();
    let waiting = tokio::spawn(async move {
        let event = listener.recv().await;
        (listener, event)
    });
    common::eventually("refused reconnects", SOON, async || proxy.refused() >= 3).await;
    proxy.set_mode(pgtide_testkit::ProxyMode::Forward);
    let (mut listener, event) = tokio::time::timeout(SOON, waiting).await??;
    assert_eq!(event?, ListenerEvent::Reconnected);
    sqlx::query("SELECT pg_notify('ch', 'back')")
        .execute(&pool)
        .await?;
    assert_eq!(notification(next(&mut listener).await).payload, "back");
    Ok(())
}
