using System.Threading.Channels;
using Platform.BuildingBlocks.State;

namespace Platform.Workflows;

/// <summary>
/// Group commit of this process's workflow writes to one store: the creations and checkpoints of all instances
/// that are ready at the same moment go to the store in one transaction, each checkpoint still guarded by its own
/// ETag and each index shard by its ETag (a store with one writer at a time does one commit instead of dozens, and
/// writers of one process never wait on each other's locks). A batch that fails, which happens only when some runner
/// lost a lease or another process changed an index shard meanwhile, is retried once and then done one request at a
/// time, so one lost lease never fails the others.
/// </summary>
internal sealed class GroupWriter(IStateStore store)
{
    private const int MaxBatch = 256;
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IStateStore, GroupWriter> Writers = [];

    /// <summary>The writer of a store, shared by the client and the runner of this process.</summary>
    public static GroupWriter For(IStateStore store) => Writers.GetValue(store, s => new GroupWriter(s));
    private readonly Channel<Request> _queue = Channel.CreateUnbounded<Request>(new UnboundedChannelOptions { SingleReader = true });
    private int _started;

    /// <summary>
    /// Writes <paramref name="write"/> (ETag-guarded); with <paramref name="unindex"/>, also removes that id from its
    /// index shard in the same transaction. False when the ETag did not match.
    /// </summary>
    public async Task<bool> WriteAsync(StateOperation.Upsert write, string? unindex = null)
    {
        var request = new Request(write, unindex, null);
        Enqueue(request);
        return (await request.Done.Task).Ok;
    }

    /// <summary>
    /// Creates <paramref name="record"/> (with its empty inbox, in its index shard) unless its id exists; returns the
    /// existing record otherwise. The shard's ETag guards the creation against another process creating the same id.
    /// </summary>
    public async Task<(bool Created, InstanceRecord Record)> CreateAsync(InstanceRecord record)
    {
        var request = new Request(null, null, record);
        Enqueue(request);
        var result = await request.Done.Task;
        return (result.Ok, result.Existing ?? record);
    }

    private void Enqueue(Request request)
    {
        if (Interlocked.Exchange(ref _started, 1) == 0) _ = Task.Run(LoopAsync);
        if (!_queue.Writer.TryWrite(request)) throw new InvalidOperationException("The workflow writer is closed.");
    }

    private async Task LoopAsync()
    {
        var batch = new List<Request>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var request)) batch.Add(request);
            try
            {
                await CommitAsync(batch);
            }
            catch (Exception ex)
            {
                foreach (var request in batch) request.Done.TrySetException(ex);
            }
        }
    }

    private async Task CommitAsync(List<Request> batch)
    {
        if (batch is [{ Create: null, Unindex: null } single])
        {
            single.Done.TrySetResult(new(await store.SaveAsync(single.Write!.Key, single.Write.Value, single.Write.ETag) == StateOutcome.Ok));
            return;
        }
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            if (await TryCommitBatchAsync(batch)) return;
        }
        foreach (var request in batch)
        {
            try
            {
                if (request.Create is { } create)
                {
                    for (var attempt = 1; !await TryCommitBatchAsync([request]); attempt++)
                    {
                        if (attempt >= 100) throw new StateStoreException($"Gave up creating workflow instance '{create.InstanceId}' after {attempt} conflicts.", "CONFLICT");
                        await Task.Delay(Random.Shared.Next(0, Math.Min(attempt, 10)));
                    }
                }
                else
                {
                    request.Done.TrySetResult(new(request.Unindex is null
                        ? await store.SaveAsync(request.Write!.Key, request.Write.Value, request.Write.ETag) == StateOutcome.Ok
                        : await WriteAndUnindexAsync(request)));
                }
            }
            catch (Exception ex)
            {
                request.Done.TrySetException(ex);
            }
        }
    }

    /// <summary>One transaction for the whole batch; completes the requests and returns true when it commits.</summary>
    private async Task<bool> TryCommitBatchAsync(IReadOnlyList<Request> batch)
    {
        var operations = new List<StateOperation>(batch.Count * 2 + 4);
        var shardKeys = batch.Select(r => r.Create?.InstanceId ?? r.Unindex).OfType<string>()
            .Select(id => WorkflowStore.IndexKey(WorkflowStore.ShardOf(id))).Distinct().ToList();
        var shards = new Dictionary<string, (IndexShard Shard, string? ETag, bool Changed)>(StringComparer.Ordinal);
        for (var read = 1; shardKeys.Count > 0; read++)
        {
            shards.Clear();
            foreach (var item in await store.GetBulkAsync(shardKeys))
                shards[item.Key] = (StateStoreExtensions.Deserialize<IndexShard>(item.Value), item.ETag, false);
            var missing = shardKeys.Where(k => !shards.ContainsKey(k)).ToList();
            if (missing.Count == 0) break;
            if (read >= 3) return false;
            // First use of a shard: create it empty on its own (last-write-wins: ETags cannot say "only if absent"),
            // then read it again, so every creation below is guarded by a shard ETag. Never create a record without
            // that guard: two processes would both create it.
            foreach (var key in missing) await store.SaveAsync(key, new IndexShard());
        }

        // Creations: an id that exists is not created again. Read after the shards, so the shard ETags cover the check.
        var creates = batch.Where(r => r.Create is not null).ToList();
        var existing = new Dictionary<string, InstanceRecord?>(StringComparer.Ordinal);
        foreach (var id in creates.Select(r => r.Create!.InstanceId).Distinct())
        {
            var item = await store.GetAsync(WorkflowStore.RecordKey(id));
            existing[id] = item is null ? null : StateStoreExtensions.Deserialize<InstanceRecord>(item.Value);
        }
        var outcomes = new Dictionary<Request, Outcome>();
        foreach (var request in creates)
        {
            var record = request.Create!;
            if (existing[record.InstanceId] is { } found)
            {
                outcomes[request] = new(false, found);
                // An unfinished instance missing from its shard (a shard lost at its first creation) is indexed again.
                var foundKey = WorkflowStore.IndexKey(WorkflowStore.ShardOf(record.InstanceId));
                var (foundShard, foundETag, foundChanged) = shards[foundKey];
                if (!found.Published && foundShard.Ids.Add(record.InstanceId)) shards[foundKey] = (foundShard, foundETag, true);
                else shards[foundKey] = (foundShard, foundETag, foundChanged);
                continue;
            }
            existing[record.InstanceId] = record;
            var key = WorkflowStore.IndexKey(WorkflowStore.ShardOf(record.InstanceId));
            var (shard, etag, _) = shards[key];
            shard.Ids.Add(record.InstanceId);
            shards[key] = (shard, etag, true);
            operations.Add(StateStoreExtensions.Upsert(WorkflowStore.RecordKey(record.InstanceId), record));
            operations.Add(StateStoreExtensions.Upsert(WorkflowStore.InboxKey(record.InstanceId), new Inbox()));
            outcomes[request] = new(true);
        }
        foreach (var request in batch.Where(r => r.Write is not null))
        {
            operations.Add(request.Write!);
            if (request.Unindex is { } id)
            {
                var key = WorkflowStore.IndexKey(WorkflowStore.ShardOf(id));
                var (shard, etag, changed) = shards[key];
                shards[key] = (shard, etag, shard.Ids.Remove(id) || changed);
            }
            outcomes[request] = new(true);
        }
        foreach (var (key, (shard, etag, changed)) in shards)
        {
            if (changed) operations.Add(StateStoreExtensions.Upsert(key, shard, etag));
        }

        if (operations.Count > 0 && await store.TransactAsync(operations) != StateOutcome.Ok) return false;
        foreach (var (request, outcome) in outcomes) request.Done.TrySetResult(outcome);
        return true;
    }

    private async Task<bool> WriteAndUnindexAsync(Request request)
    {
        for (var attempt = 1; ; attempt++)
        {
            var shardKey = WorkflowStore.IndexKey(WorkflowStore.ShardOf(request.Unindex!));
            List<StateOperation> operations = [request.Write!];
            if (await store.GetAsync(shardKey) is { } item)
            {
                var shard = StateStoreExtensions.Deserialize<IndexShard>(item.Value);
                if (shard.Ids.Remove(request.Unindex!)) operations.Add(StateStoreExtensions.Upsert(shardKey, shard, item.ETag));
            }
            if (await store.TransactAsync(operations) == StateOutcome.Ok) return true;
            var current = await store.GetAsync(request.Write!.Key);
            if (current is null || current.ETag != request.Write.ETag) return false;
            if (attempt >= 100) throw new StateStoreException($"Gave up removing '{request.Unindex}' from the workflow index after {attempt} conflicts.", "CONFLICT");
            await Task.Delay(Random.Shared.Next(0, Math.Min(attempt, 10)));
        }
    }

    private sealed record Outcome(bool Ok, InstanceRecord? Existing = null);

    private sealed class Request(StateOperation.Upsert? write, string? unindex, InstanceRecord? create)
    {
        public StateOperation.Upsert? Write { get; } = write;
        public string? Unindex { get; } = unindex;
        public InstanceRecord? Create { get; } = create;
        public TaskCompletionSource<Outcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
