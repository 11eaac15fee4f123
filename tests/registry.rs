//! The pool registry against the real server: one pool per profile and configuration,
//! one pool under concurrent first use, a rotated password gives a new pool while the old
//! one drains, `close_all`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::role::{TestRole, config_as};
use common::{backends, config, eventually};
use pgtide::ErrorKind;
use pgtide::registry::Registry;
use pgtide_testkit::TestDb;
use tokio::sync::Barrier;

const SOON: Duration = Duration::from_secs(10);

#[tokio::test]
async fn two_asks_for_one_profile_give_one_pool() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 2).build()?;
    let registry = Registry::new();
    let a = registry.pool(&cfg).await?;
    let b = registry.pool(&cfg.clone()).await?;
    assert!(a.same_pool(&b));
    let mut admin = db.connect().await?;
    assert_eq!(backends(&mut admin, &cfg).await, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_use_opens_one_pool() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let cfg = config(&db, 1, 2).build()?;
    let registry = Arc::new(Registry::new());
    let tasks = 8;
    let barrier = Arc::new(Barrier::new(tasks));
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (registry, barrier, cfg) = (Arc::clone(&registry), Arc::clone(&barrier), cfg.clone());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            registry.pool(&cfg).await
        }));
    }
    let mut pools = Vec::new();
    for handle in handles {
        pools.push(handle.await??);
    }
    assert!(pools.iter().all(|p| p.same_pool(&pools[0])));
    let mut admin = db.connect().await?;
    assert_eq!(backends(&mut admin, &cfg).await, 1, "one pool, min size 1");
    Ok(())
}

#[tokio::test]
async fn a_rotated_password_gives_a_new_pool_while_the_old_drains() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let mut admin = db.connect().await?;
    let role = TestRole::create(&db, &mut admin, "rot", "first-pw").await?;
    let old_cfg = config_as(&db, &role.name, "first-pw", 2, None)?;
    let registry = Registry::new();
    let old = registry.pool(&old_cfg).await?;
    let mut in_flight = old.acquire().await?;

    role.set_password(&mut admin, "second-pw").await?;
    let new_cfg = config_as(
        &db,
        &role.name,
        "second-pw",
        2,
        Some(&old_cfg.connection().application_name),
    )?;
    let new = registry.pool(&new_cfg).await?;
    assert!(!new.same_pool(&old));
    assert!(registry.pool(&new_cfg).await?.same_pool(&new));

    // The old pool drains: no new checkouts, but work in flight finishes.
    eventually("the old pool is closed", SOON, async || old.is_closed()).await;
    assert_eq!(old.acquire().await.unwrap_err().kind(), ErrorKind::Closed);
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut *in_flight)
        .await?;
    assert_eq!(one, 1);
    drop(in_flight);
    let two: i32 = sqlx::query_scalar("SELECT 2").fetch_one(&new).await?;
    assert_eq!(two, 2);
    eventually("only the new pool's connection is left", SOON, async || {
        backends(&mut admin, &new_cfg).await == 1
    })
    .await;

    registry.close_all().await;
    registry.close_all().await;
    assert!(new.is_closed());
    assert_eq!(
        registry.pool(&new_cfg).await.unwrap_err().kind(),
        ErrorKind::Closed
    );
    eventually("every connection is closed", SOON, async || {
        backends(&mut admin, &new_cfg).await == 0
    })
    .await;
    Ok(())
}

#[tokio::test]
async fn after_a_rotation_the_old_pools_straggler_is_terminated_through_the_new_pool()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let mut admin = db.connect().await?;
    let role = TestRole::create(&db, &mut admin, "drain", "first-pw").await?;
    let old_cfg = config_as(&db, &role.name, "first-pw", 2, None)?;
    let registry = Registry::with_close_grace(Duration::from_millis(200));
    let old = registry.pool(&old_cfg).await?;
    // A holder that never hands its connection back.
    let mut held = old.acquire().await?;
    let held_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *held)
        .await?;

    // Rotation: the old pool's password no longer opens a connection.
    role.set_password(&mut admin, "second-pw").await?;
    let new_cfg = config_as(
        &db,
        &role.name,
        "second-pw",
        2,
        Some(&old_cfg.connection().application_name),
    )?;
    let new = registry.pool(&new_cfg).await?;
    assert!(!new.same_pool(&old));

    // The drain outlives its grace; the straggler is terminated with credentials that work.
    registry.close_all().await;
    eventually("the old pool's straggler is terminated", SOON, async || {
        !sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)",
        )
        .bind(held_pid)
        .fetch_one(&mut admin)
        .await
        .unwrap()
    })
    .await;
    let err = sqlx::query("SELECT 1")
        .execute(&mut *held)
        .await
        .unwrap_err();
    assert!(pgtide::Error::from(err).is_connection_lost());
    drop(held);
    eventually("every connection is closed", SOON, async || {
        backends(&mut admin, &new_cfg).await == 0
    })
    .await;
    Ok(())
}
