using System.Collections.Concurrent;

namespace Platform.Workflows;

/// <summary>
/// In-process shortcuts between the client and the runner of one app: a start wakes the runner at once, a raised
/// event reaches a running instance at once, and a completion wakes its waiters. Across processes the same things
/// happen through state, within the poll interval.
/// </summary>
public sealed class WorkflowSignals
{
    private readonly ConcurrentQueue<string> _started = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _changed = new(StringComparer.Ordinal);
    private TaskCompletionSource _work = New();

    internal event Action<string>? InstanceSignaled;

    private static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal void Started(string instanceId)
    {
        _started.Enqueue(instanceId);
        WakeRunner();
    }

    internal void WakeRunner() => Interlocked.Exchange(ref _work, New()).TrySetResult();

    internal List<string> TakeStarted()
    {
        var list = new List<string>();
        while (_started.TryDequeue(out var id)) list.Add(id);
        return list;
    }

    internal async Task WaitForWorkAsync(TimeSpan timeout, CancellationToken ct)
    {
        var work = Volatile.Read(ref _work).Task;
        if (!_started.IsEmpty) return;
        await Task.WhenAny(work, Task.Delay(timeout, ct));
        ct.ThrowIfCancellationRequested();
    }

    /// <summary>An instance has an inbox message to look at.</summary>
    internal void Signal(string instanceId) => InstanceSignaled?.Invoke(instanceId);

    /// <summary>An instance's state changed (checkpoint, end).</summary>
    internal void Changed(string instanceId)
    {
        if (_changed.TryRemove(instanceId, out var tcs)) tcs.TrySetResult();
    }

    /// <summary>Completes at the instance's next change in this process; take it before reading the state, so no change is missed.</summary>
    internal Task NextChange(string instanceId) => _changed.GetOrAdd(instanceId, _ => New()).Task;
}
