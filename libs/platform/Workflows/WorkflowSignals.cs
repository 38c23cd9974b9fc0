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
    private readonly ConcurrentDictionary<string, TaskCompletionSource<InstanceChange>> _changed = new(StringComparer.Ordinal);
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

    /// <summary>
    /// An instance's state changed (checkpoint, end). Each change completes the current signal and installs the
    /// next one, so a waiter that looks again after a change still sees the one after it; after the end the
    /// installed signal is already complete.
    /// </summary>
    internal void Changed(string instanceId, WorkflowRuntimeStatus status, byte[] record)
    {
        var change = new InstanceChange(status, record);
        while (_changed.TryGetValue(instanceId, out var current))
        {
            var next = New<InstanceChange>();
            if (status.IsTerminal()) next.TrySetResult(change);
            if (_changed.TryUpdate(instanceId, next, current))
            {
                current.TrySetResult(change);
                return;
            }
        }
    }

    /// <summary>Drops an instance's signal: its id was created anew or purged, so nothing recorded for it still holds.</summary>
    internal void Reset(string instanceId) => _changed.TryRemove(instanceId, out _);

    /// <summary>Drops a finished instance's signal once a waiter has seen the end.</summary>
    internal void Forget(string instanceId)
    {
        if (_changed.TryGetValue(instanceId, out var current) && current.Task.IsCompleted)
            _changed.TryRemove(KeyValuePair.Create(instanceId, current));
    }

    /// <summary>Completes with the new status at the instance's next change in this process; take it before reading the state, so no change is missed.</summary>
    internal Task<InstanceChange> NextChange(string instanceId) => _changed.GetOrAdd(instanceId, _ => New<InstanceChange>()).Task;

    private static TaskCompletionSource<T> New<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>A status change and the record as written (JSON), so a waiter in this process need not read it back.</summary>
internal sealed record InstanceChange(WorkflowRuntimeStatus Status, byte[] Record);
