//! One pooled connection held for several statements (profile `{profile}`): session state
//! such as `SET` stays on it until it goes back to the pool.

use pgtide::config::Config;
use pgtide::{Pool, sqlx};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), pgtide::Error> {
    let config = Config::loader().profile("{profile}").load()?;
    let pool = Pool::connect(&config).await?;

    // Derefs to `sqlx::PgConnection`: anything sqlx can do, `&mut *conn` can.
    let mut conn = pool.acquire().await?;
    let pid = conn.backend_pid().await?;
    sqlx::query("SET work_mem = '16MB'").execute(&mut *conn).await?;
    let (database, user, work_mem): (String, String, String) = sqlx::query_as(
        "SELECT current_database()::text, current_user::text, current_setting('work_mem')",
    )
    .fetch_one(&mut *conn)
    .await?;
    println!("backend {pid}: database {database} as {user}, work_mem {work_mem}");
    drop(conn); // back to the pool
    pool.close().await;
    Ok(())
}
