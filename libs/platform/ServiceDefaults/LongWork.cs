namespace Platform.ServiceDefaults;

/// <summary>
/// Long CPU-bound work (a model fit, a walk-forward evaluation, a backtest's simulation) on a thread of its own rather
/// than the thread pool's. The pool keeps about one worker per core and adds more only slowly (one every half second or
/// so) when all of them are busy; a fit of minutes on a pool thread takes one of a 2-core pod's two workers, and what
/// else needs a worker meanwhile (requests, timers, lease renewals, cancellation callbacks) waits on that slow injection.
/// Work that awaits does not belong here: a dedicated thread ends at its first await.
/// </summary>
public static class LongWork
{
    /// <summary>
    /// Runs <paramref name="work"/> on a new thread. Like <see cref="Task.Run{TResult}(Func{TResult}, CancellationToken)"/>,
    /// a token already cancelled cancels the task before it starts; once started, the work observes the token itself.
    /// </summary>
    public static Task<T> RunAsync<T>(Func<T> work, CancellationToken ct) =>
        Task.Factory.StartNew(work, ct, TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach, TaskScheduler.Default);
}
