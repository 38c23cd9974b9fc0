using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using Platform.BuildingBlocks.State;

namespace Platform.BuildingBlocks.Embedded;

/// <summary>
/// The embedded state adapter: one table in <c>state.db</c> shared by every component and app, the component
/// name and the key prefix (<c>{appid}||</c> or <c>{component}||</c>, Dapr's keyPrefix rule) making rows distinct.
/// ETags are random 63-bit numbers drawn on every write, so a deleted and re-created key never matches an old ETag.
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

    private readonly SqliteFile _file;
    private readonly string _prefix;

    public SqliteStateStore(SqliteFile file, string name, string keyPrefix)
    {
        _file = file;
        Name = name;
        _prefix = keyPrefix.Length == 0 ? "" : keyPrefix + "||";
    }

    public string Name { get; }

    private string Physical(string key)
    {
        if (string.IsNullOrEmpty(key)) throw new StateStoreException("A state key must not be empty.", "ERR_MALFORMED_REQUEST");
        if (key.Contains("||", StringComparison.Ordinal))
            throw new StateStoreException($"State key '{key}' contains the reserved separator '||'.", "ERR_MALFORMED_REQUEST");
        return _prefix + key;
    }

    private static long ParseETag(string etag) =>
        long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new StateStoreException($"Invalid ETag '{etag}'.", "ERR_INVALID_ETAG");

    private static long NewETag() => Random.Shared.NextInt64(1, long.MaxValue);

    public Task<StateItem?> GetAsync(string key, CancellationToken ct = default)
    {
        var physical = Physical(key);
        using var connection = _file.OpenConnection();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT value, etag FROM state WHERE store = $s AND key = $k";
        cmd.Parameters.AddWithValue("$s", Name);
        cmd.Parameters.AddWithValue("$k", physical);
        using var reader = cmd.ExecuteReader();
        StateItem? item = reader.Read()
            ? new StateItem(key, (byte[])reader[0], reader.GetInt64(1).ToString(CultureInfo.InvariantCulture))
            : null;
        return Task.FromResult(item);
    }

    public Task<IReadOnlyList<StateItem>> GetBulkAsync(IReadOnlyCollection<string> keys, CancellationToken ct = default)
    {
        var items = new List<StateItem>(keys.Count);
        if (keys.Count == 0) return Task.FromResult<IReadOnlyList<StateItem>>(items);
        // One connection and one prepared statement for every key, read in one snapshot.
        using var connection = _file.OpenConnection();
        using var tx = connection.BeginTransaction(deferred: true);
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT value, etag FROM state WHERE store = $s AND key = $k";
        cmd.Parameters.AddWithValue("$s", Name);
        var physical = cmd.Parameters.Add("$k", SqliteType.Text);
        cmd.Prepare();
        foreach (var key in keys.Distinct(StringComparer.Ordinal))
        {
            physical.Value = Physical(key);
            using var reader = cmd.ExecuteReader();
            if (reader.Read()) items.Add(new StateItem(key, (byte[])reader[0], reader.GetInt64(1).ToString(CultureInfo.InvariantCulture)));
        }
        tx.Commit();
        return Task.FromResult<IReadOnlyList<StateItem>>(items);
    }

    public Task<StateOutcome> SaveAsync(string key, ReadOnlyMemory<byte> value, string? etag = null, CancellationToken ct = default)
    {
        using var connection = _file.OpenConnection();
        using var statements = new Statements(this, connection, null);
        return Task.FromResult(statements.Apply(new StateOperation.Upsert(key, value, etag)) ? StateOutcome.Ok : StateOutcome.Conflict);
    }

    public Task<StateOutcome> DeleteAsync(string key, string? etag = null, CancellationToken ct = default)
    {
        using var connection = _file.OpenConnection();
        using var statements = new Statements(this, connection, null);
        return Task.FromResult(statements.Apply(new StateOperation.Delete(key, etag)) ? StateOutcome.Ok : StateOutcome.Conflict);
    }

    public Task<StateOutcome> TransactAsync(IReadOnlyList<StateOperation> operations, CancellationToken ct = default)
    {
        if (operations.Count == 0) return Task.FromResult(StateOutcome.Ok);
        using var connection = _file.OpenConnection();
        using var tx = connection.BeginTransaction(deferred: false);
        using var statements = new Statements(this, connection, tx);
        foreach (var op in operations)
        {
            if (!statements.Apply(op))
            {
                tx.Rollback();
                return Task.FromResult(StateOutcome.TransactionFailed);
            }
        }
        tx.Commit();
        return Task.FromResult(StateOutcome.Ok);
    }

    /// <summary>
    /// The four write statements (upsert and delete, with and without an ETag), each prepared on first use and reused for
    /// every further operation of the same kind on this connection and transaction.
    /// </summary>
    private sealed class Statements(SqliteStateStore store, SqliteConnection connection, SqliteTransaction? tx) : IDisposable
    {
        private const string UpsertSql = """
            INSERT INTO state(store, key, value, etag) VALUES ($s, $k, $v, $n)
            ON CONFLICT(store, key) DO UPDATE SET value = excluded.value, etag = excluded.etag
            """;
        private const string UpdateSql = "UPDATE state SET value = $v, etag = $n WHERE store = $s AND key = $k AND etag = $e";
        private const string DeleteSql = "DELETE FROM state WHERE store = $s AND key = $k";
        private const string DeleteIfSql = "DELETE FROM state WHERE store = $s AND key = $k AND etag = $e";

        private readonly SqliteCommand?[] _commands = new SqliteCommand?[4];

        private SqliteCommand Command(int kind, string sql, bool value, bool etag)
        {
            if (_commands[kind] is { } cached) return cached;
            var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = sql;
            cmd.Parameters.AddWithValue("$s", store.Name);
            cmd.Parameters.Add("$k", SqliteType.Text);
            if (value)
            {
                cmd.Parameters.Add("$v", SqliteType.Blob);
                cmd.Parameters.Add("$n", SqliteType.Integer);
            }
            if (etag) cmd.Parameters.Add("$e", SqliteType.Integer);
            cmd.Prepare();
            return _commands[kind] = cmd;
        }

        /// <summary>Applies one operation; false when its ETag does not match (or the key is absent and an ETag was given).</summary>
        public bool Apply(StateOperation op)
        {
            var physical = store.Physical(op.Key);
            long? expected = op.ETag is null ? null : ParseETag(op.ETag);
            SqliteCommand cmd;
            switch (op)
            {
                case StateOperation.Upsert upsert:
                    cmd = expected is null ? Command(0, UpsertSql, value: true, etag: false) : Command(1, UpdateSql, value: true, etag: true);
                    // The value's own array when it is one whole array, a copy otherwise.
                    cmd.Parameters["$v"].Value = MemoryMarshal.TryGetArray(upsert.Value, out var segment) && segment.Offset == 0
                        && segment.Count == segment.Array!.Length ? segment.Array : upsert.Value.ToArray();
                    cmd.Parameters["$n"].Value = NewETag();
                    break;
                case StateOperation.Delete:
                    cmd = expected is null ? Command(2, DeleteSql, value: false, etag: false) : Command(3, DeleteIfSql, value: false, etag: true);
                    break;
                default:
                    throw new StateStoreException($"Unsupported state operation {op.GetType().Name}.", "ERR_NOT_SUPPORTED_STATE_OPERATION");
            }
            cmd.Parameters["$k"].Value = physical;
            if (expected is { } e) cmd.Parameters["$e"].Value = e;
            var changed = cmd.ExecuteNonQuery();
            return expected is null || changed == 1;
        }

        public void Dispose()
        {
            foreach (var cmd in _commands) cmd?.Dispose();
        }
    }
}
