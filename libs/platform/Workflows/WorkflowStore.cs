using Dapr.Workflow;
using System.Text;
using System.Text.Json.Serialization;
using Platform.BuildingBlocks.State;

namespace Platform.Workflows;

/// <summary>
/// The persisted shape of an instance, one JSON document under <c>workflow:{id}</c>: status, input/output, the
/// history of checkpointed results (what replay feeds back to the workflow), the inbox cursor and the lease.
/// Only the runner holding the lease writes it, each write guarded by the ETag of its own previous write.
/// </summary>
internal sealed class InstanceRecord
{
    public required string InstanceId { get; init; }
    public required string Name { get; init; }
    /// <summary>The version of the definition that started the instance (<see cref="WorkflowRunnerOptions.Versions"/>).</summary>
    public string? Version { get; init; }
    public WorkflowRuntimeStatus Status { get; set; }
    public string? Input { get; init; }
    public string? Output { get; set; }
    public string? CustomStatus { get; set; }
    public WorkflowTaskFailureDetails? Failure { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset LastUpdatedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
    public List<HistoryEntry> History { get; init; } = [];
    /// <summary>Sequence number of the last inbox message applied.</summary>
    public long InboxCursor { get; set; }
    /// <summary>The terminal event was published and the instance left the index.</summary>
    public bool Published { get; set; }
    public string? LeaseOwner { get; set; }
    public DateTimeOffset LeaseUntil { get; set; }
    public long Revision { get; set; }
    /// <summary>Attempts to start the workflow's code that failed before it ran (bad input, a dependency missing).</summary>
    public int StartAttempts { get; set; }
    /// <summary>Patches (<see cref="WorkflowContext.IsPatched"/>) this instance has taken.</summary>
    public List<string> Patches { get; init; } = [];
    /// <summary>Activity calls between retry attempts, by call number: survives a restart, so attempts continue where they were.</summary>
    public Dictionary<int, RetryState> Retries { get; init; } = [];

    public WorkflowProgress Progress()
    {
        var done = 0;
        string? last = null;
        foreach (var e in History)
        {
            if (e.Kind is not (HistoryKind.ActivityCompleted or HistoryKind.ActivityFailed)) continue;
            done++;
            last = e.Name;
        }
        return new WorkflowProgress(done, last);
    }
}

[JsonConverter(typeof(JsonStringEnumConverter<HistoryKind>))]
internal enum HistoryKind { ActivityCompleted, ActivityFailed, TimerFired, EventRaised }

/// <summary>One checkpointed fact. <see cref="TaskId"/> is the call's sequence number in the workflow's code.</summary>
internal sealed record HistoryEntry(
    HistoryKind Kind, int TaskId, string? Name, DateTimeOffset At,
    string? Input = null, string? Result = null, WorkflowTaskFailureDetails? Failure = null, int Attempts = 0);

/// <summary>Where an activity call's retries stand: attempts made, when the first began, when the next may start.</summary>
internal sealed record RetryState(int Attempts, DateTimeOffset FirstStart, DateTimeOffset NextAttemptAt);

[JsonConverter(typeof(JsonStringEnumConverter<InboxKind>))]
internal enum InboxKind { Event, Terminate, Suspend, Resume }

internal sealed record InboxMessage(long Seq, InboxKind Kind, string? Name, string? Payload, DateTimeOffset At);

/// <summary>Requests from clients to an instance (events, terminate, suspend, resume), under <c>workflow:{id}:inbox</c>.</summary>
internal sealed class Inbox
{
    public long NextSeq { get; set; } = 1;
    public List<InboxMessage> Messages { get; init; } = [];
}

/// <summary>One shard of the index of unfinished instances (the state port has no query).</summary>
internal sealed class IndexShard
{
    public SortedSet<string> Ids { get; init; } = new(StringComparer.Ordinal);
}

/// <summary>The runner lost an instance's lease: another runner owns it now; stop without writing.</summary>
internal sealed class LeaseLostException(string instanceId) : Exception($"Lost the lease on workflow instance '{instanceId}'.");

/// <summary>An instance record held under lease: the ETag of this runner's last write fences the next one.</summary>
internal sealed class LeasedRecord(InstanceRecord record, string etag, byte[] written)
{
    public InstanceRecord Record { get; } = record;
    public string ETag { get; set; } = etag;
    public byte[] Written { get; set; } = written;
    public DateTimeOffset LastWrite { get; set; } = DateTimeOffset.UtcNow;
}

/// <summary>Keys and ETag-guarded operations of the workflow runner on the app's private state store.</summary>
internal sealed class WorkflowStore(IStateStore store, TimeProvider clock)
{
    public const int IndexShards = 16;
    private readonly GroupWriter _writer = GroupWriter.For(store);

    public IStateStore State => store;
    public TimeProvider Clock => clock;

    public static string RecordKey(string id) => "workflow:" + id;
    public static string InboxKey(string id) => "workflow:" + id + ":inbox";
    public static string IndexKey(int shard) => "workflow-index:" + shard.ToString("D2", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Stable across processes (string.GetHashCode is not): FNV-1a over UTF-8.</summary>
    public static int ShardOf(string id)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(id)) hash = (hash ^ b) * 16777619u;
        return (int)(hash % IndexShards);
    }

    public static void ValidateInstanceId(string instanceId)
    {
        if (string.IsNullOrEmpty(instanceId)) throw new ArgumentException("An instance id is required.", nameof(instanceId));
        if (instanceId.Length > 64) throw new ArgumentException($"Instance id '{instanceId}' is longer than 64 characters.", nameof(instanceId));
        foreach (var c in instanceId)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                throw new ArgumentException($"Instance id '{instanceId}' may hold only letters, digits, '-' and '_' (Dapr's rule).", nameof(instanceId));
        }
    }

    public DateTimeOffset Now => clock.GetUtcNow();

    public async Task<(InstanceRecord? Record, StateItem? Item)> GetRecordAsync(string id, CancellationToken ct)
    {
        var item = await store.GetAsync(RecordKey(id), ct);
        return item is null ? (null, null) : (StateStoreExtensions.Deserialize<InstanceRecord>(item.Value), item);
    }

    /// <summary>
    /// Creates a Pending instance unless the id exists. Every create goes through the id's index shard with its
    /// ETag (and, in one process, through one writer), so two concurrent starts of one id cannot both create it.
    /// </summary>
    public Task<(bool Created, InstanceRecord Record)> CreateAsync(string name, string? version, string id, string? input)
    {
        var now = Now;
        return _writer.CreateAsync(new InstanceRecord
        {
            InstanceId = id, Name = name, Version = version, Status = WorkflowRuntimeStatus.Pending, Input = input, CreatedAt = now, LastUpdatedAt = now,
        });
    }

    /// <summary>Ids of unfinished instances (and finished ones whose end is not yet published).</summary>
    public async Task<List<string>> ReadIndexAsync(CancellationToken ct)
    {
        var keys = Enumerable.Range(0, IndexShards).Select(IndexKey).ToArray();
        var items = await store.GetBulkAsync(keys, ct);
        return items.SelectMany(i => StateStoreExtensions.Deserialize<IndexShard>(i.Value).Ids).ToList();
    }

    public async Task RemoveFromIndexAsync(string id, CancellationToken ct)
    {
        var shardKey = IndexKey(ShardOf(id));
        for (var attempt = 1; attempt <= 100; attempt++)
        {
            var (shard, etag) = await store.GetWithETagAsync<IndexShard>(shardKey, ct);
            if (shard is null || !shard.Ids.Remove(id)) return;
            if (await store.SaveAsync(shardKey, shard, etag, ct) == StateOutcome.Ok) return;
        }
    }

    public async Task<(Inbox? Inbox, string? ETag)> ReadInboxAsync(string id, CancellationToken ct) =>
        await store.GetWithETagAsync<Inbox>(InboxKey(id), ct);

    /// <summary>Appends a request to an instance's inbox; drops messages the runner has already applied.</summary>
    public async Task<bool> AppendInboxAsync(string id, InboxKind kind, string? name, string? payload, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var (record, _) = await GetRecordAsync(id, ct);
            if (record is null) throw new WorkflowInstanceNotFoundException(id);
            if (record.Status.IsTerminal()) return false;
            var (inbox, etag) = await ReadInboxAsync(id, ct);
            if (inbox is null) throw new WorkflowInstanceNotFoundException(id);
            inbox.Messages.RemoveAll(m => m.Seq <= record.InboxCursor);
            inbox.Messages.Add(new InboxMessage(inbox.NextSeq++, kind, name, payload, Now));
            if (await store.SaveAsync(InboxKey(id), inbox, etag, ct) == StateOutcome.Ok) return true;
            if (attempt >= 100) throw new StateStoreException($"Gave up writing to the inbox of '{id}' after {attempt} conflicts.", "CONFLICT");
            await Task.Delay(Random.Shared.Next(0, Math.Min(attempt, 10)), ct);
        }
    }

    /// <summary>
    /// Reads an instance a runner may take: it exists, is not finished and published, and its lease is free (never
    /// held, released or expired). The lease is taken by the first <see cref="WriteAsync"/> with the returned ETag.
    /// </summary>
    public async Task<LeasedRecord?> ReadLeasableAsync(string id, string owner, Func<InstanceRecord, bool> runnable, CancellationToken ct)
    {
        var (record, item) = await GetRecordAsync(id, ct);
        if (record is null || item is null || record.Published)
        {
            // Purged, or finished while its removal from the index was lost: tidy the index.
            await RemoveFromIndexAsync(id, ct);
            return null;
        }
        if (!runnable(record)) return null;
        if (record.LeaseOwner is not null && record.LeaseOwner != owner && record.LeaseUntil > Now) return null;
        return new LeasedRecord(record, item.ETag, []);
    }

    /// <summary>
    /// Writes the record under lease (renewing it); throws <see cref="LeaseLostException"/> if another runner wrote in between.
    /// <paramref name="owner"/> is normally the runner id; another value (a back-off marker) keeps every runner, this one
    /// included, off the instance until the lease expires.
    /// </summary>
    public async Task WriteAsync(LeasedRecord leased, string owner, TimeSpan leaseDuration, CancellationToken ct = default)
    {
        var r = leased.Record;
        var now = Now;
        r.LeaseOwner = owner;
        r.LeaseUntil = now + leaseDuration;
        r.LastUpdatedAt = now;
        r.Revision++;
        var bytes = StateStoreExtensions.Serialize(r);
        var key = RecordKey(r.InstanceId);
        if (!await _writer.WriteAsync(new StateOperation.Upsert(key, bytes, leased.ETag))) throw new LeaseLostException(r.InstanceId);
        // The save does not return the new ETag (neither does Dapr's): read it back and check the revision is ours. The bytes
        // may differ: a store may keep JSON re-serialized (PostgreSQL's jsonb re-orders keys and drops whitespace).
        var item = await store.GetAsync(key, ct);
        // Identical bytes (a store that keeps them, such as the embedded one) settle it without parsing.
        if (item is null || !(item.Value.Span.SequenceEqual(bytes) || IsOurs(item, owner, r.Revision)))
            throw new LeaseLostException(r.InstanceId);
        leased.ETag = item.ETag;
        leased.Written = bytes;
        leased.LastWrite = now;
    }

    private static bool IsOurs(StateItem item, string owner, long revision)
    {
        var stored = StateStoreExtensions.Deserialize<RecordStamp>(item.Value);
        return stored.Revision == revision && stored.LeaseOwner == owner;
    }

    /// <summary>The fields that identify one write of a record; the rest is not read back.</summary>
    private sealed record RecordStamp(long Revision, string? LeaseOwner);

    /// <summary>Marks a finished instance published and takes it out of the index, in one transaction fenced by the lease.</summary>
    public async Task FinishAsync(LeasedRecord leased)
    {
        var r = leased.Record;
        r.Published = true;
        r.LeaseOwner = null;
        r.LeaseUntil = default;
        r.Revision++;
        var bytes = StateStoreExtensions.Serialize(r);
        if (!await _writer.WriteAsync(new StateOperation.Upsert(RecordKey(r.InstanceId), bytes, leased.ETag), unindex: r.InstanceId))
            throw new LeaseLostException(r.InstanceId);
        leased.Written = bytes;
    }

    /// <summary>Deletes a finished instance's record and inbox. False when it is not finished.</summary>
    public async Task<bool> PurgeAsync(string id, CancellationToken ct)
    {
        for (var attempt = 1; attempt <= 100; attempt++)
        {
            var (record, item) = await GetRecordAsync(id, ct);
            if (record is null || item is null) throw new WorkflowInstanceNotFoundException(id);
            if (!record.Status.IsTerminal()) return false;
            var outcome = await store.TransactAsync(
            [
                new StateOperation.Delete(RecordKey(id), item.ETag),
                new StateOperation.Delete(InboxKey(id)),
            ], ct);
            if (outcome == StateOutcome.Ok)
            {
                if (!record.Published) await RemoveFromIndexAsync(id, ct);
                return true;
            }
        }
        throw new StateStoreException($"Gave up purging workflow instance '{id}'.", "CONFLICT");
    }
}
