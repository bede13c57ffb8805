//! Outbound requests with a deadline: the fetch races a timer, and a fetch that loses is
//! aborted so that it holds no connection.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures_util::future::{Either, select};
use worker::{AbortController, AbortSignal, Delay};

/// Runs `work` with an abort signal until it ends or `timeout` passes (`None`).
pub async fn within<T, F>(timeout: Duration, work: impl FnOnce(AbortSignal) -> F) -> Option<T>
where
    F: Future<Output = T>,
{
    let controller = AbortController::default();
    let work = pin!(work(controller.signal()));
    let timer = pin!(Delay::from(timeout));
    match select(work, timer).await {
        Either::Left((value, _)) => Some(value),
        Either::Right(((), _)) => {
            controller.abort();
            None
        }
    }
}
