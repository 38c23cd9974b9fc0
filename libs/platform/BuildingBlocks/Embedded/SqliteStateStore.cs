using System.Globalization;
using Microsoft.Data.Sqlite;
using Platform.BuildingBlocks.State;

namespace Platform.BuildingBlocks.Embedded;

/// <summary>
/// The embedded state adapter: one table in <c>state.db</c> shared by every component and app, the component
/// name and the key prefix (<c>{appid}||</c> or <c>{component}||</c>, Dapr's keyPrefix rule) making rows distinct.
/// ETags are random 63-bit numbers drawn on every write, so a deleted and re-created key never matches an old ETag.
/// Calls run on kept connections with statements prepared once (<see cref="Session"/>), a few of them held idle between
/// calls, so several threads work at once (reads side by side under WAL, writes in turn under SQLite's write lock).
/// </summary>
public sealed class SqliteStateStore : IStateStore
{
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS state (
            store TEXT NOT NULL,
            key   TEXT NOT NULL,
            value BLOB NOT NULL,
            etag  INTEGER NOT NULL,
            PRIMARY KEY (store, key)
        ) WITHOUT ROWID;
        """;

    /// <summary>Kept connections a store holds on to between calls; more are opened while more calls run at once.</summary>
    private const int MaxIdleSessions = 8;

    private static readonly Task<StateOutcome> Ok = Task.FromResult(StateOutcome.Ok);
    private static readonly Task<StateOutcome> Conflict = Task.FromResult(StateOutcome.Conflict);
    private static readonly Task<StateOutcome> TransactionFailed = Task.FromResult(StateOutcome.TransactionFailed);

    private readonly SqliteFile _file;
    private readonly string _prefix;
    private readonly Lock _lock = new();
    private readonly Session?[] _idle = new Session?[MaxIdleSessions];
    private int _idleCount;

    public SqliteStateStore(SqliteFile file, string name, string keyPrefix)
    {
        _file = file;
        Name = name;
        _prefix = keyPrefix.Length == 0 ? "" : keyPrefix + "||";
    }

    public string Name { get; }

    private static void Validate(string key)
    {
        if (string.IsNullOrEmpty(key)) throw new StateStoreException("A state key must not be empty.", "ERR_MALFORMED_REQUEST");
        if (key.Contains("||", StringComparison.Ordinal))
            throw new StateStoreException($"State key '{key}' contains the reserved separator '||'.", "ERR_MALFORMED_REQUEST");
    }

    private static long? ParseETag(string? etag) =>
        etag is null ? null
        : long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value
        : throw new StateStoreException($"Invalid ETag '{etag}'.", "ERR_INVALID_ETAG");

    private static long NewETag() => Random.Shared.NextInt64(1, long.MaxValue);

    public Task<StateItem?> GetAsync(string key, CancellationToken ct = default)
    {
        Validate(key);
        return Task.FromResult(Run(key, static (session, key) => session.Get(key)));
    }

    public Task<IReadOnlyList<StateItem>> GetBulkAsync(IReadOnlyCollection<string> keys, CancellationToken ct = default)
    {
        var items = new List<StateItem>(keys.Count);
        if (keys.Count == 0) return Task.FromResult<IReadOnlyList<StateItem>>(items);
        foreach (var key in keys) Validate(key);
        // Every key read in one snapshot.
        Run((keys, items), static (session, args) =>
        {
            session.Execute(Session.Kind.BeginRead);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var key in args.keys)
                if (seen.Add(key) && session.Get(key) is { } item) args.items.Add(item);
            session.Execute(Session.Kind.Commit);
            return 0;
        });
        return Task.FromResult<IReadOnlyList<StateItem>>(items);
    }

    public Task<StateOutcome> SaveAsync(string key, ReadOnlyMemory<byte> value, string? etag = null, CancellationToken ct = default)
    {
        Validate(key);
        var write = new Write(key, value, ParseETag(etag), Delete: false);
        return Run(write, static (session, write) => session.Apply(write)) ? Ok : Conflict;
    }

    public Task<StateOutcome> DeleteAsync(string key, string? etag = null, CancellationToken ct = default)
    {
        Validate(key);
        var write = new Write(key, default, ParseETag(etag), Delete: true);
        return Run(write, static (session, write) => session.Apply(write)) ? Ok : Conflict;
    }

    public Task<StateOutcome> TransactAsync(IReadOnlyList<StateOperation> operations, CancellationToken ct = default)
    {
        if (operations.Count == 0) return Ok;
        // Refuse a malformed operation before anything is written.
        var writes = new Write[operations.Count];
        for (var i = 0; i < writes.Length; i++)
        {
            var op = operations[i];
            Validate(op.Key);
            writes[i] = op switch
            {
                StateOperation.Upsert upsert => new Write(op.Key, upsert.Value, ParseETag(op.ETag), Delete: false),
                StateOperation.Delete => new Write(op.Key, default, ParseETag(op.ETag), Delete: true),
                _ => throw new StateStoreException($"Unsupported state operation {op.GetType().Name}.", "ERR_NOT_SUPPORTED_STATE_OPERATION"),
            };
        }
        return Run(writes, static (session, writes) =>
        {
            session.Execute(Session.Kind.Begin);
            foreach (var write in writes)
            {
                if (!session.Apply(write))
                {
                    session.Execute(Session.Kind.Rollback);
                    return false;
                }
            }
            session.Execute(Session.Kind.Commit);
            return true;
        }) ? Ok : TransactionFailed;
    }

    /// <summary>
    /// Runs <paramref name="work"/> on an idle session (or a new one) and puts the session back. A session whose work
    /// failed is closed instead, which also rolls back a transaction it left open.
    /// </summary>
    private TResult Run<TState, TResult>(TState state, Func<Session, TState, TResult> work)
    {
        Session? session = null;
        lock (_lock)
        {
            if (_idleCount > 0)
            {
                session = _idle[--_idleCount];
                _idle[_idleCount] = null;
            }
        }
        session ??= new Session(this);
        TResult result;
        try
        {
            result = work(session, state);
        }
        catch
        {
            session.Dispose();
            throw;
        }
        lock (_lock)
        {
            if (_idleCount < MaxIdleSessions)
            {
                _idle[_idleCount++] = session;
                session = null;
            }
        }
        session?.Dispose();
        return result;
    }

    /// <summary>One upsert or delete, checked and parsed before its transaction begins.</summary>
    private readonly record struct Write(string Key, ReadOnlyMemory<byte> Value, long? ETag, bool Delete);

    /// <summary>
    /// A kept connection and its statements, each prepared on first use with the store's name bound once (SQLite's reset
    /// keeps bindings), then bound by position for every call: no command, parameter or reader objects per call.
    /// </summary>
    private sealed class Session : IDisposable
    {
        public enum Kind { Get, Upsert, UpdateIf, Delete, DeleteIf, Begin, BeginRead, Commit, Rollback }

        /// <summary>By <see cref="Kind"/>: ?1 the store, ?2 the key, ?3 the value, ?4 the new ETag, ?5 the expected ETag.</summary>
        private static readonly string[] Sql =
        [
            "SELECT value, etag FROM state WHERE store = ?1 AND key = ?2",
            """
            INSERT INTO state(store, key, value, etag) VALUES (?1, ?2, ?3, ?4)
            ON CONFLICT(store, key) DO UPDATE SET value = excluded.value, etag = excluded.etag
            """,
            "UPDATE state SET value = ?3, etag = ?4 WHERE store = ?1 AND key = ?2 AND etag = ?5",
            "DELETE FROM state WHERE store = ?1 AND key = ?2",
            "DELETE FROM state WHERE store = ?1 AND key = ?2 AND etag = ?5",
            "BEGIN IMMEDIATE",
            "BEGIN",
            "COMMIT",
            "ROLLBACK",
        ];

        private readonly SqliteStateStore _store;
        private readonly SqliteConnection _connection;
        private readonly SqliteStatement?[] _statements = new SqliteStatement?[Sql.Length];

        public Session(SqliteStateStore store)
        {
            _store = store;
            _connection = store._file.OpenKeptConnection();
        }

        private SqliteStatement Statement(Kind kind)
        {
            if (_statements[(int)kind] is { } prepared) return prepared;
            var statement = new SqliteStatement(_connection, Sql[(int)kind]);
            if (kind < Kind.Begin) statement.Text(1, _store.Name);
            return _statements[(int)kind] = statement;
        }

        public void Execute(Kind kind) => Statement(kind).Execute();

        /// <summary>Binds the store's prefix and <paramref name="key"/> as one text, composed on the stack when short.</summary>
        private void BindKey(SqliteStatement statement, string key)
        {
            var prefix = _store._prefix;
            var length = prefix.Length + key.Length;
            if (length > 256)
            {
                statement.Text(2, prefix + key);
                return;
            }
            Span<char> physical = stackalloc char[length];
            prefix.CopyTo(physical);
            key.CopyTo(physical[prefix.Length..]);
            statement.Text(2, physical);
        }

        public StateItem? Get(string key)
        {
            var get = Statement(Kind.Get);
            BindKey(get, key);
            try
            {
                return get.Step()
                    ? new StateItem(key, get.ColumnBlob(0).ToArray(), get.ColumnInt64(1).ToString(CultureInfo.InvariantCulture))
                    : null;
            }
            finally
            {
                get.Reset();
            }
        }

        /// <summary>Applies one write; false when its ETag does not match (or the key is absent and an ETag was given).</summary>
        public bool Apply(Write write)
        {
            var statement = Statement(write.Delete
                ? write.ETag is null ? Kind.Delete : Kind.DeleteIf
                : write.ETag is null ? Kind.Upsert : Kind.UpdateIf);
            BindKey(statement, write.Key);
            if (!write.Delete)
            {
                statement.Blob(3, write.Value.Span);
                statement.Int64(4, NewETag());
            }
            if (write.ETag is { } expected) statement.Int64(5, expected);
            var changed = statement.Execute();
            return write.ETag is null || changed == 1;
        }

        public void Dispose()
        {
            foreach (var statement in _statements) statement?.Dispose();
            _connection.Dispose();
        }
    }
}
