using System.Globalization;
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
        return Task.FromResult(Apply(connection, null, new StateOperation.Upsert(key, value, etag)) ? StateOutcome.Ok : StateOutcome.Conflict);
    }

    public Task<StateOutcome> DeleteAsync(string key, string? etag = null, CancellationToken ct = default)
    {
        using var connection = _file.OpenConnection();
        return Task.FromResult(Apply(connection, null, new StateOperation.Delete(key, etag)) ? StateOutcome.Ok : StateOutcome.Conflict);
    }

    public Task<StateOutcome> TransactAsync(IReadOnlyList<StateOperation> operations, CancellationToken ct = default)
    {
        if (operations.Count == 0) return Task.FromResult(StateOutcome.Ok);
        using var connection = _file.OpenConnection();
        using var tx = connection.BeginTransaction(deferred: false);
        foreach (var op in operations)
        {
            if (!Apply(connection, tx, op))
            {
                tx.Rollback();
                return Task.FromResult(StateOutcome.TransactionFailed);
            }
        }
        tx.Commit();
        return Task.FromResult(StateOutcome.Ok);
    }

    /// <summary>Applies one operation; false when its ETag does not match (or the key is absent and an ETag was given).</summary>
    internal bool Apply(SqliteConnection connection, SqliteTransaction? tx, StateOperation op)
    {
        var physical = Physical(op.Key);
        long? expected = op.ETag is null ? null : ParseETag(op.ETag);
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.Parameters.AddWithValue("$s", Name);
        cmd.Parameters.AddWithValue("$k", physical);
        switch (op)
        {
            case StateOperation.Upsert upsert:
                cmd.Parameters.AddWithValue("$v", upsert.Value.ToArray());
                cmd.Parameters.AddWithValue("$n", NewETag());
                if (expected is null)
                {
                    cmd.CommandText = """
                        INSERT INTO state(store, key, value, etag) VALUES ($s, $k, $v, $n)
                        ON CONFLICT(store, key) DO UPDATE SET value = excluded.value, etag = excluded.etag
                        """;
                    cmd.ExecuteNonQuery();
                    return true;
                }
                cmd.CommandText = "UPDATE state SET value = $v, etag = $n WHERE store = $s AND key = $k AND etag = $e";
                cmd.Parameters.AddWithValue("$e", expected.Value);
                return cmd.ExecuteNonQuery() == 1;
            case StateOperation.Delete:
                if (expected is null)
                {
                    cmd.CommandText = "DELETE FROM state WHERE store = $s AND key = $k";
                    cmd.ExecuteNonQuery();
                    return true;
                }
                cmd.CommandText = "DELETE FROM state WHERE store = $s AND key = $k AND etag = $e";
                cmd.Parameters.AddWithValue("$e", expected.Value);
                return cmd.ExecuteNonQuery() == 1;
            default:
                throw new StateStoreException($"Unsupported state operation {op.GetType().Name}.", "ERR_NOT_SUPPORTED_STATE_OPERATION");
        }
    }
}
