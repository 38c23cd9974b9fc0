using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Platform.BuildingBlocks.PubSub;

namespace Platform.BuildingBlocks.Embedded;

/// <summary>
/// The embedded pub/sub log: an append-only table of events in <c>pubsub.db</c> and one cursor per
/// (consumer group = app id, topic). Publishing is group-committed: concurrent publishers share one SQLite
/// transaction, and a publish returns only after its commit. One instance per file per process; in-process
/// subscribers are woken at once, other processes notice new events by polling.
/// </summary>
public sealed class EventLog
{
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS events (
            seq           INTEGER PRIMARY KEY AUTOINCREMENT,
            topic         TEXT NOT NULL,
            id            TEXT NOT NULL,
            type          TEXT NOT NULL,
            source        TEXT NOT NULL,
            partition_key TEXT,
            time          TEXT NOT NULL,
            data          BLOB NOT NULL,
            traceparent   TEXT
        );
        CREATE INDEX IF NOT EXISTS events_topic_seq ON events(topic, seq);
        CREATE TABLE IF NOT EXISTS cursors (
            app_id      TEXT NOT NULL,
            topic       TEXT NOT NULL,
            position    INTEGER NOT NULL,
            attempts    INTEGER NOT NULL,
            owner       TEXT,
            lease_until INTEGER NOT NULL,
            PRIMARY KEY (app_id, topic)
        ) WITHOUT ROWID;
        """;

    private static readonly ConcurrentDictionary<string, Lazy<EventLog>> Open = new(StringComparer.Ordinal);

    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private TaskCompletionSource _appended = NewSignal();

    private EventLog(SqliteFile file)
    {
        File = file;
        AddTraceParentColumn(file);
        _ = Task.Run(WriteLoopAsync);
    }

    /// <summary>Logs written before events carried a trace context get the column (once, under the write lock).</summary>
    private static void AddTraceParentColumn(SqliteFile file)
    {
        using var connection = file.OpenConnection();
        using var tx = connection.BeginTransaction(deferred: false);
        using var columns = connection.CreateCommand();
        columns.Transaction = tx;
        columns.CommandText = "SELECT COUNT(*) FROM pragma_table_info('events') WHERE name = 'traceparent'";
        if ((long)columns.ExecuteScalar()! == 0)
        {
            using var alter = connection.CreateCommand();
            alter.Transaction = tx;
            alter.CommandText = "ALTER TABLE events ADD COLUMN traceparent TEXT";
            alter.ExecuteNonQuery();
        }
        tx.Commit();
    }

    public SqliteFile File { get; }

    /// <summary>The log for a file path, shared by every app of this process.</summary>
    public static EventLog For(string path)
    {
        var full = Path.GetFullPath(path);
        return Open.GetOrAdd(full, p => new Lazy<EventLog>(() => new EventLog(SqliteFile.Open(p, Schema)))).Value;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when an event is appended in this process, or after <paramref name="poll"/> (other processes).</summary>
    public async Task WaitForAppendAsync(TimeSpan poll, CancellationToken ct)
    {
        var signal = Volatile.Read(ref _appended).Task;
        await Task.WhenAny(signal, Task.Delay(poll, ct));
        ct.ThrowIfCancellationRequested();
    }

    private void NotifyAppended() => Interlocked.Exchange(ref _appended, NewSignal()).TrySetResult();

    /// <summary>Appends durably; returns after the commit.</summary>
    public Task AppendAsync(OutgoingEvent e, string source, CancellationToken ct, string? traceParent = null) =>
        AppendAsync([e], source, ct, traceParent);

    /// <summary>Appends <paramref name="events"/> in order, in one commit with whatever else is pending; returns after the commit.</summary>
    public Task AppendAsync(IReadOnlyList<OutgoingEvent> events, string source, CancellationToken ct, string? traceParent = null)
    {
        var pending = new Pending(events, source, DateTimeOffset.UtcNow, traceParent, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending)) throw new InvalidOperationException("The event log is closed.");
        return ct.CanBeCanceled ? pending.Done.Task.WaitAsync(ct) : pending.Done.Task;
    }

    /// <summary>Most events one commit takes from the queue (a single call's events are never split).</summary>
    private const int MaxEventsPerCommit = 4096;

    private async Task WriteLoopAsync()
    {
        var batch = new List<Pending>(512);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            var events = 0;
            while (events < MaxEventsPerCommit && _queue.Reader.TryRead(out var p))
            {
                batch.Add(p);
                events += p.Events.Count;
            }
            try
            {
                using var connection = File.OpenConnection();
                using var tx = connection.BeginTransaction(deferred: false);
                using var insert = new EventInsert(connection, tx);
                foreach (var p in batch)
                {
                    var time = p.Time.ToString("o", System.Globalization.CultureInfo.InvariantCulture);
                    foreach (var e in p.Events) insert.Execute(e, p.Source, time, p.TraceParent);
                }
                tx.Commit();
                foreach (var p in batch) p.Done.TrySetResult();
                NotifyAppended();
            }
            catch (Exception ex)
            {
                foreach (var p in batch) p.Done.TrySetException(ex);
            }
        }
    }

    internal static void Insert(SqliteConnection connection, SqliteTransaction tx, OutgoingEvent e, string source, DateTimeOffset time,
        string? traceParent = null)
    {
        using var insert = new EventInsert(connection, tx);
        insert.Execute(e, source, time.ToString("o", System.Globalization.CultureInfo.InvariantCulture), traceParent);
    }

    /// <summary>A prepared insert reused for every event of a batch.</summary>
    private sealed class EventInsert : IDisposable
    {
        private readonly SqliteCommand _cmd;
        private readonly SqliteParameter _topic, _id, _type, _source, _pk, _time, _data, _traceParent;

        public EventInsert(SqliteConnection connection, SqliteTransaction tx)
        {
            _cmd = connection.CreateCommand();
            _cmd.Transaction = tx;
            _cmd.CommandText = """
                INSERT INTO events(topic, id, type, source, partition_key, time, data, traceparent)
                VALUES ($topic, $id, $type, $source, $pk, $time, $data, $traceparent)
                """;
            _topic = _cmd.Parameters.Add("$topic", SqliteType.Text);
            _id = _cmd.Parameters.Add("$id", SqliteType.Text);
            _type = _cmd.Parameters.Add("$type", SqliteType.Text);
            _source = _cmd.Parameters.Add("$source", SqliteType.Text);
            _pk = _cmd.Parameters.Add("$pk", SqliteType.Text);
            _time = _cmd.Parameters.Add("$time", SqliteType.Text);
            _data = _cmd.Parameters.Add("$data", SqliteType.Blob);
            _traceParent = _cmd.Parameters.Add("$traceparent", SqliteType.Text);
            _cmd.Prepare();
        }

        public void Execute(OutgoingEvent e, string source, string time, string? traceParent)
        {
            _traceParent.Value = (object?)traceParent ?? DBNull.Value;
            _topic.Value = e.Topic;
            _id.Value = e.Id;
            _type.Value = e.Type;
            _source.Value = source;
            _pk.Value = (object?)e.PartitionKey ?? DBNull.Value;
            _time.Value = time;
            // The payload's own array when it is one whole array (the usual case), a copy otherwise.
            _data.Value = MemoryMarshal.TryGetArray(e.Data, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
                ? segment.Array
                : e.Data.ToArray();
            _cmd.ExecuteNonQuery();
        }

        public void Dispose() => _cmd.Dispose();
    }

    private sealed record Pending(IReadOnlyList<OutgoingEvent> Events, string Source, DateTimeOffset Time, string? TraceParent, TaskCompletionSource Done);
}

/// <summary>The embedded publish adapter for one app: validates, then appends to the shared log.</summary>
public sealed class EmbeddedEventPublisher(EventLog log, string appId, PubSubOptions options) : IEventPublisher
{
    public async Task PublishAsync(OutgoingEvent e, CancellationToken ct = default)
    {
        options.Validate(e);
        var (span, traceParent) = PubSubTelemetry.StartPublish(e);
        using (span) await log.AppendAsync(e, appId, ct, traceParent);
    }

    /// <summary>Validates every event, then appends them in order in one commit (shared with concurrent publishers).</summary>
    public async Task PublishManyAsync(IReadOnlyList<OutgoingEvent> events, CancellationToken ct = default)
    {
        if (events.Count == 0) return;
        foreach (var e in events) options.Validate(e);
        var (span, traceParent) = PubSubTelemetry.StartPublish(events[0], events.Count);
        using (span) await log.AppendAsync(events, appId, ct, traceParent);
    }
}
