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
        // One connection and its prepared inserts for the loop's life, opened again after a failure.
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
            try
            {
                connection ??= File.OpenConnection();
                insert ??= new EventInsert(connection);
                using (var tx = connection.BeginTransaction(deferred: false))
                {
                    insert.Begin(tx);
                    foreach (var p in batch)
                    {
                        var time = p.Time.ToString("o", System.Globalization.CultureInfo.InvariantCulture);
                        foreach (var e in p.Events) insert.Add(e, p.Source, time, p.TraceParent);
                    }
                    insert.Flush();
                    tx.Commit();
                }
                foreach (var p in batch) p.Done.TrySetResult();
                NotifyAppended();
            }
            catch (Exception ex)
            {
                insert?.Dispose();
                connection?.Dispose();
                (insert, connection) = (null, null);
                foreach (var p in batch) p.Done.TrySetException(ex);
            }
        }
        insert?.Dispose();
        connection?.Dispose();
    }

    internal static void Insert(SqliteConnection connection, SqliteTransaction tx, OutgoingEvent e, string source, DateTimeOffset time,
        string? traceParent = null)
    {
        using var insert = new EventInsert(connection);
        insert.Begin(tx);
        insert.Add(e, source, time.ToString("o", System.Globalization.CultureInfo.InvariantCulture), traceParent);
        insert.Flush();
    }

    /// <summary>
    /// Prepared inserts reused for every event of a batch (and, in the write loop, of every batch): events are bound into a
    /// statement of <see cref="Rows"/> rows, executed when full, and the rest go through the one-row statement at
    /// <see cref="Flush"/>. Rows of one statement get their sequence numbers in order, so the log keeps the append order.
    /// </summary>
    private sealed class EventInsert : IDisposable
    {
        private const int Rows = 32;
        private const int Columns = 8;
        private readonly SqliteConnection _connection;
        private readonly SqliteCommand _one;
        private readonly SqliteParameter[] _oneParameters;
        private SqliteCommand? _many;
        private SqliteParameter[] _manyParameters = [];
        private readonly object?[] _pending = new object?[Rows * Columns];
        private int _buffered;

        public EventInsert(SqliteConnection connection)
        {
            _connection = connection;
            (_one, _oneParameters) = Create(connection, 1);
        }

        private static (SqliteCommand, SqliteParameter[]) Create(SqliteConnection connection, int rows)
        {
            var cmd = connection.CreateCommand();
            var values = new System.Text.StringBuilder();
            var parameters = new SqliteParameter[rows * Columns];
            for (var r = 0; r < rows; r++)
            {
                if (r > 0) values.Append(", ");
                values.Append('(');
                for (var c = 0; c < Columns; c++)
                {
                    var name = $"$p{r * Columns + c}";
                    if (c > 0) values.Append(", ");
                    values.Append(name);
                    parameters[r * Columns + c] = cmd.Parameters.Add(name, c == 6 ? SqliteType.Blob : SqliteType.Text);
                }
                values.Append(')');
            }
            cmd.CommandText = $"INSERT INTO events(topic, id, type, source, partition_key, time, data, traceparent) VALUES {values}";
            return (cmd, parameters);
        }

        /// <summary>Binds the statements to the transaction the next events go into.</summary>
        public void Begin(SqliteTransaction tx)
        {
            _buffered = 0;
            _one.Transaction = tx;
            if (_many is not null) _many.Transaction = tx;
        }

        public void Add(OutgoingEvent e, string source, string time, string? traceParent)
        {
            var o = _buffered * Columns;
            _pending[o] = e.Topic;
            _pending[o + 1] = e.Id;
            _pending[o + 2] = e.Type;
            _pending[o + 3] = source;
            _pending[o + 4] = e.PartitionKey;
            _pending[o + 5] = time;
            // The payload's own array when it is one whole array (the usual case), a copy otherwise.
            _pending[o + 6] = MemoryMarshal.TryGetArray(e.Data, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
                ? segment.Array
                : e.Data.ToArray();
            _pending[o + 7] = traceParent;
            if (++_buffered < Rows) return;
            if (_many is null)
            {
                (_many, _manyParameters) = Create(_connection, Rows);
                _many.Transaction = _one.Transaction;
                _many.Prepare();
            }
            for (var i = 0; i < _pending.Length; i++) _manyParameters[i].Value = _pending[i] ?? DBNull.Value;
            _many.ExecuteNonQuery();
            _buffered = 0;
        }

        /// <summary>Inserts the events still buffered, one row at a time.</summary>
        public void Flush()
        {
            for (var r = 0; r < _buffered; r++)
            {
                for (var c = 0; c < Columns; c++) _oneParameters[c].Value = _pending[r * Columns + c] ?? DBNull.Value;
                _one.ExecuteNonQuery();
            }
            _buffered = 0;
            Array.Clear(_pending);
        }

        public void Dispose()
        {
            _one.Dispose();
            _many?.Dispose();
        }
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
