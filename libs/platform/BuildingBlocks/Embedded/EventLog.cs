using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SQLitePCL;
using Platform.BuildingBlocks.PubSub;

namespace Platform.BuildingBlocks.Embedded;

/// <summary>
/// The embedded pub/sub log: an append-only table of events in <c>pubsub.db</c> and one cursor per
/// (consumer group = app id, topic). Publishing is group-committed: concurrent publishers share one SQLite
/// transaction, and a publish returns only after its commit. One instance per file per process; in-process
/// subscribers are woken at once, other processes notice new events by polling. The events this process committed
/// last stay in memory for a while (<see cref="CommittedTail"/>), so an in-process subscriber takes them from there
/// instead of reading them back; its cursor still lives in the file, so a crash loses nothing.
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

    /// <summary>The page size of a new log file (events of a kilobyte or two); a file created with other pages keeps them.</summary>
    public const int PageSize = SqliteFile.LargeRowPageSize;

    /// <summary>The component name and content type every delivered event carries.</summary>
    public const string PubSubName = "pubsub";
    public const string DataContentType = "application/json";

    private static readonly ConcurrentDictionary<string, Lazy<EventLog>> Open = new(StringComparer.Ordinal);

    private static readonly System.Diagnostics.Metrics.Meter Meter = new(PubSubTelemetry.SourceName);

    /// <summary>
    /// Failed checkpoints of the log's WAL, by <c>runner</c> (<c>background</c> or <c>writer</c>). Nothing is lost when one
    /// fails, but a log whose checkpoints keep failing has a WAL that keeps growing.
    /// </summary>
    private static readonly System.Diagnostics.Metrics.Counter<long> CheckpointFailures = Meter.CreateCounter<long>(
        "pubsub.log.checkpoint_failures", "{checkpoint}", "Checkpoints of the embedded event log's WAL that failed.");

    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private TaskCompletionSource _appended = NewSignal();
    private readonly CommittedTail _tail = new();
    private readonly Checkpointer _checkpointer;

    private EventLog(SqliteFile file, ILogger logger)
    {
        File = file;
        AddTraceParentColumn(file);
        _checkpointer = new Checkpointer(file, logger: logger);
        _ = Task.Run(WriteLoopAsync);
    }

    /// <summary>Logs written before events carried a trace context get the column (once, under the write lock).</summary>
    private static void AddTraceParentColumn(SqliteFile file) =>
        file.Migrate("SELECT NOT EXISTS (SELECT 1 FROM pragma_table_info('events') WHERE name = 'traceparent')",
            "ALTER TABLE events ADD COLUMN traceparent TEXT");

    public SqliteFile File { get; }

    /// <summary>
    /// The log for a file path, shared by every app of this process. The first call for a file decides its
    /// <paramref name="synchronous"/> setting (asking for another one later is an error) and the logger its failed
    /// checkpoints are reported to.
    /// </summary>
    public static EventLog For(string path, SqliteSynchronous synchronous = SqliteSynchronous.Normal, ILogger? logger = null)
    {
        var full = Path.GetFullPath(path);
        var log = Open.GetOrAdd(full, p => new Lazy<EventLog>(() =>
            new EventLog(SqliteFile.Open(p, Schema, synchronous, PageSize), logger ?? NullLogger.Instance))).Value;
        if (log.File.Synchronous != synchronous)
            throw new InvalidOperationException($"The event log '{full}' is open with synchronous={log.File.Synchronous} in this process, not {synchronous}.");
        return log;
    }

    /// <summary>Keeps the events of <paramref name="topic"/> this process commits in memory for in-process subscribers.</summary>
    public void Follow(string topic) => _tail.Follow(topic);

    /// <summary>
    /// Up to <paramref name="max"/> events of <paramref name="topic"/> after <paramref name="position"/> from the committed
    /// tail, in log order; empty when the tail cannot answer for every event in that range (read the file then).
    /// </summary>
    internal List<(long Seq, CloudEvent Event)> ReadTail(string topic, long position, int max) => _tail.Read(topic, position, max);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes at the next append in this process. Take it before looking for events, so none is missed.</summary>
    public Task NextAppend => Volatile.Read(ref _appended).Task;

    /// <summary>Completes when <paramref name="nextAppend"/> does (an append in this process), or after <paramref name="poll"/> (other processes).</summary>
    public static async Task WaitForAppendAsync(Task nextAppend, TimeSpan poll, CancellationToken ct)
    {
        if (nextAppend.IsCompleted) return;
        await Task.WhenAny(nextAppend, Task.Delay(poll, ct));
        ct.ThrowIfCancellationRequested();
    }

    private void NotifyAppended() => Interlocked.Exchange(ref _appended, NewSignal()).TrySetResult();

    /// <summary>Appends durably; returns after the commit.</summary>
    public Task AppendAsync(OutgoingEvent e, string source, CancellationToken ct, string? traceParent = null) =>
        AppendAsync([e], source, ct, traceParent);

    /// <summary>Appends <paramref name="events"/> in order, in one commit with whatever else is pending; returns after the commit.</summary>
    public Task AppendAsync(IReadOnlyList<OutgoingEvent> events, string source, CancellationToken ct, string? traceParent = null)
    {
        var pending = new Pending(events, source, DateTimeOffset.UtcNow, traceParent);
        if (!_queue.Writer.TryWrite(pending)) throw new InvalidOperationException("The event log is closed.");
        return ct.CanBeCanceled ? pending.Task.WaitAsync(ct) : pending.Task;
    }

    /// <summary>Most events one commit takes from the queue (a single call's events are never split).</summary>
    private const int MaxEventsPerCommit = 4096;

    private async Task WriteLoopAsync()
    {
        var batch = new List<Pending>(512);
        // One connection and its prepared statements for the loop's life, opened again after a failure.
        SqliteConnection? connection = null;
        EventInsert? insert = null;
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            var events = 0;
            while (events < MaxEventsPerCommit && _queue.Reader.TryRead(out var p))
            {
                batch.Add(p);
                events += p.Events.Count;
            }
            var bytes = 0L;
            try
            {
                connection ??= File.OpenKeptConnection();
                insert ??= new EventInsert(connection, _checkpointer);
                insert.Begin();
                foreach (var p in batch)
                {
                    insert.Call(p.Source, p.Time, p.TraceParent);
                    // By index: a foreach over the interface would allocate an enumerator per call.
                    for (var i = 0; i < p.Events.Count; i++) bytes += insert.Add(p.Events[i]);
                }
                insert.Commit();
                // The rows of one write transaction get consecutive sequence numbers (it holds the write lock throughout).
                var seq = raw.sqlite3_last_insert_rowid(connection.Handle) - events + 1;
                foreach (var p in batch)
                {
                    _tail.Add(seq, p.Events, p.Source, p.Time, p.TraceParent);
                    seq += p.Events.Count;
                }
                foreach (var p in batch) p.TrySetResult();
                NotifyAppended();
                _checkpointer.Appended(connection, bytes);
            }
            catch (Exception ex)
            {
                // Closing the connection rolls back a transaction the failure left open.
                insert?.Dispose();
                connection?.Dispose();
                (insert, connection) = (null, null);
                foreach (var p in batch) p.TrySetException(ex);
            }
        }
        insert?.Dispose();
        connection?.Dispose();
    }

    /// <summary>Inserts one event in <paramref name="connection"/>'s open transaction.</summary>
    internal static void Insert(SqliteConnection connection, OutgoingEvent e, string source, DateTimeOffset time, string? traceParent = null)
    {
        using var insert = new EventInsert(connection);
        insert.Call(source, time, traceParent);
        insert.Add(e);
    }

    /// <summary>
    /// The event insert, prepared once per connection and bound by position through SQLite's own API
    /// (<see cref="SqliteStatement"/>): Microsoft.Data.Sqlite binds every parameter by name, which SQLite looks up in a
    /// list, so a multi-row statement spent more time finding its parameters than inserting. Rows get their sequence
    /// numbers in the order they are inserted, so the log keeps the append order. SQLite's reset leaves bindings alone, so
    /// a call's source, time and trace context are bound once for all its events (<see cref="Call"/>), and a topic, type
    /// or partition key only when it is another string than the last one bound there. The write loop's transaction
    /// statements are prepared here too, so a commit allocates nothing.
    /// </summary>
    private sealed class EventInsert : IDisposable
    {
        private readonly SqliteStatement _insert;
        private readonly SqliteConnection _connection;
        private SqliteStatement? _begin, _commit;
        /// <summary>The string bound at each per-event text parameter (by position; null also when none has been, which SQLite reads as NULL).</summary>
        private readonly string?[] _bound = new string?[6];

        public EventInsert(SqliteConnection connection, Checkpointer? checkpointer = null)
        {
            _connection = connection;
            checkpointer?.TakeOver(connection);
            _insert = new SqliteStatement(connection,
                "INSERT INTO events(topic, id, type, partition_key, data, source, time, traceparent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
        }

        public void Begin() => (_begin ??= new SqliteStatement(_connection, "BEGIN IMMEDIATE")).Execute();

        public void Commit() => (_commit ??= new SqliteStatement(_connection, "COMMIT")).Execute();

        /// <summary>Binds what the events of one call share: its source, time (ISO 8601 text, formatted on the stack) and trace context.</summary>
        public void Call(string source, DateTimeOffset time, string? traceParent)
        {
            _insert.Text(6, source);
            Span<byte> text = stackalloc byte[40];
            time.TryFormat(text, out var written, "o", System.Globalization.CultureInfo.InvariantCulture);
            _insert.Text(7, text[..written]);
            _insert.Text(8, traceParent);
        }

        /// <summary>Inserts one event in the connection's current transaction, with the last call's shared values; its payload's size.</summary>
        public int Add(OutgoingEvent e)
        {
            Text(1, e.Topic);
            _insert.Text(2, e.Id);
            Text(3, e.Type);
            Text(4, e.PartitionKey);
            _insert.Blob(5, e.Data.Span);
            _insert.Execute();
            return e.Data.Length;
        }

        private void Text(int index, string? value)
        {
            if (ReferenceEquals(_bound[index], value)) return;
            _insert.Text(index, value);
            _bound[index] = value;
        }

        public void Dispose()
        {
            _insert.Dispose();
            _begin?.Dispose();
            _commit?.Dispose();
        }
    }

    /// <summary>
    /// Copies the log's WAL back into the file (a checkpoint) on a thread of its own, so a publish does not wait for it:
    /// left to SQLite, the commit that takes the WAL past 1,000 pages runs the checkpoint before it returns, which with
    /// batches of megabytes is nearly every commit. The write loop's connection has automatic checkpoints off and tells
    /// this after each commit how much it wrote; about every 4 MiB a passive checkpoint (one that never waits for readers
    /// or writers) runs on another connection. A checkpoint that runs beside the writer may not catch up with it, and the
    /// WAL restarts from its beginning only after one has: when the WAL has passed 64 MiB, the write loop runs the next
    /// checkpoint itself between two commits, as SQLite would have, so it cannot grow without bound; it does the same after
    /// a background checkpoint failed, until one of its own succeeds. The first failure of a run of them is logged as a
    /// warning with its error, the first success after them as information; every failure is counted.
    /// </summary>
    internal sealed class Checkpointer
    {
        internal const long EveryBytes = 4L << 20;
        private const long MaxWalBytes = 64L << 20;
        private readonly Func<SqliteConnection> _openConnection;
        private readonly int _maxWalFrames;
        private readonly SemaphoreSlim _due = new(0, 1);
        private long _sinceLast;
        private volatile bool _catchUp;
        private long _failures;
        private long _failing;
        private readonly string _path;
        private readonly ILogger _logger;

        /// <param name="file">The log's file.</param>
        /// <param name="openConnection">Opens the background checkpoints' connection (the file's kept connection unless given).</param>
        /// <param name="logger">Where a run of failed checkpoints, and the end of it, is reported.</param>
        public Checkpointer(SqliteFile file, Func<SqliteConnection>? openConnection = null, ILogger? logger = null)
        {
            _path = file.Path;
            _logger = logger ?? NullLogger.Instance;
            _openConnection = openConnection ?? file.OpenKeptConnection;
            _maxWalFrames = (int)(MaxWalBytes / file.PageSize);
            _ = Task.Run(LoopAsync);
        }

        /// <summary>Checkpoints that failed, in the background or on the write loop (each also counted in <c>pubsub.log.checkpoint_failures</c>).</summary>
        public long Failures => Interlocked.Read(ref _failures);

        /// <summary>True while the write loop owes a checkpoint of its own (after a failed or outrun background one).</summary>
        public bool CatchingUp => _catchUp;

        /// <summary>
        /// Counts a failure (the metric first, then <see cref="Failures"/>, which a reader may be waiting on) and logs the
        /// first of a run: while checkpoints keep failing the writer tries after every commit, and the count says the rest.
        /// </summary>
        private void Failed(string runner, Exception error)
        {
            if (Interlocked.Increment(ref _failing) == 1)
                _logger.LogWarning(error,
                    "A checkpoint of the event log {Path} failed ({Runner}): nothing is lost, but its WAL grows until one succeeds; the write loop tries again after each commit",
                    _path, runner);
            CheckpointFailures.Add(1, new KeyValuePair<string, object?>("runner", runner));
            Interlocked.Increment(ref _failures);
        }

        /// <summary>Ends a run of failures, if there was one, saying how long it was.</summary>
        private void Succeeded(string runner)
        {
            if (Volatile.Read(ref _failing) == 0) return;
            var failed = Interlocked.Exchange(ref _failing, 0);
            if (failed > 0)
                _logger.LogInformation("A checkpoint of the event log {Path} succeeded again ({Runner}) after {Failed} failed", _path, runner, failed);
        }

        /// <summary>Turns SQLite's own checkpoints off on the write loop's connection: this one runs them.</summary>
        public void TakeOver(SqliteConnection connection)
        {
            using var off = new SqliteStatement(connection, "PRAGMA wal_autocheckpoint=0");
            off.Execute();
        }

        /// <summary>Called by the write loop after each commit of <paramref name="bytes"/> of payload.</summary>
        public void Appended(SqliteConnection connection, long bytes)
        {
            if (_catchUp)
            {
                try
                {
                    Checkpoint(connection);
                    _catchUp = false;
                    Succeeded("writer");
                }
                catch (SqliteException ex)
                {
                    // Still due: tried again after the next commit, which has already been answered.
                    Failed("writer", ex);
                }
            }
            _sinceLast += bytes;
            if (_sinceLast < EveryBytes) return;
            _sinceLast = 0;
            // Only this thread releases, so the count cannot pass its maximum of one.
            if (_due.CurrentCount == 0) _due.Release();
        }

        private async Task LoopAsync()
        {
            SqliteConnection? connection = null;
            while (true)
            {
                await _due.WaitAsync();
                try
                {
                    connection ??= _openConnection();
                    if (Checkpoint(connection) > _maxWalFrames) _catchUp = true;
                    Succeeded("background");
                }
                catch (Exception ex)
                {
                    // A failed checkpoint loses nothing (the WAL keeps every commit). The write loop runs the next one
                    // itself after its next commit, as SQLite would have, rather than waiting for another 4 MiB.
                    _catchUp = true;
                    Failed("background", ex);
                    connection?.Dispose();
                    connection = null;
                }
            }
        }

        /// <summary>A passive checkpoint; the WAL's size in frames.</summary>
        private static int Checkpoint(SqliteConnection connection)
        {
            var rc = raw.sqlite3_wal_checkpoint_v2(connection.Handle, "main", raw.SQLITE_CHECKPOINT_PASSIVE, out var walFrames, out _);
            if (rc != raw.SQLITE_OK && rc != raw.SQLITE_BUSY) SqliteException.ThrowExceptionForRC(rc, connection.Handle);
            return walFrames;
        }
    }

    /// <summary>One call's events, completed (as a task) when their commit is.</summary>
    private sealed class Pending(IReadOnlyList<OutgoingEvent> events, string source, DateTimeOffset time, string? traceParent)
        : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public IReadOnlyList<OutgoingEvent> Events { get; } = events;
        public string Source { get; } = source;
        public DateTimeOffset Time { get; } = time;
        public string? TraceParent { get; } = traceParent;
    }
}

/// <summary>The embedded publish adapter for one app: validates, then appends to the shared log.</summary>
public sealed class EmbeddedEventPublisher(EventLog log, string appId, PubSubOptions options) : IEventPublisher
{
    public Task PublishAsync(OutgoingEvent e, CancellationToken ct = default)
    {
        options.Validate(e);
        var (span, traceParent) = PubSubTelemetry.StartPublish(e);
        // Without a span to end after the commit, the log's own task is the answer (no async frame per event).
        return span is null ? log.AppendAsync(e, appId, ct, traceParent) : AppendTracedAsync(span, [e], traceParent, ct);
    }

    private async Task AppendTracedAsync(System.Diagnostics.Activity span, IReadOnlyList<OutgoingEvent> events, string? traceParent, CancellationToken ct)
    {
        using (span) await log.AppendAsync(events, appId, ct, traceParent);
    }

    /// <summary>Validates every event, then appends them in order in one commit (shared with concurrent publishers).</summary>
    public async Task PublishManyAsync(IReadOnlyList<OutgoingEvent> events, CancellationToken ct = default)
    {
        if (events.Count == 0) return;
        foreach (var e in events) options.Validate(e);
        var (span, traceParent) = PubSubTelemetry.StartPublish(events[0], events.Count);
        if (span is null) await log.AppendAsync(events, appId, ct, traceParent);
        else await AppendTracedAsync(span, events, traceParent, ct);
    }
}
