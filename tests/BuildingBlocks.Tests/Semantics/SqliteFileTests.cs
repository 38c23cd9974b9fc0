using Platform.BuildingBlocks.Embedded;

namespace Platform.BuildingBlocks.Tests.Semantics;

/// <summary>Every connection a data file hands out has its settings, whether fresh or taken again from the pool.</summary>
public sealed class SqliteFileTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (long BusyTimeout, long Synchronous, long ForeignKeys) Settings(Microsoft.Data.Sqlite.SqliteConnection connection)
    {
        long Read(string pragma)
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = $"PRAGMA {pragma}";
            return (long)cmd.ExecuteScalar()!;
        }
        return (Read("busy_timeout"), Read("synchronous"), Read("foreign_keys"));
    }

    [Fact]
    public void OpenConnection_FreshAndReusedFromThePool_BusyTimeoutSynchronousNormalAndForeignKeysSet()
    {
        var file = SqliteFile.Open(Path.Combine(_dir.Path, "settings.db"), "CREATE TABLE IF NOT EXISTS t (x INTEGER);");
        SQLitePCL.sqlite3? first;
        using (var connection = file.OpenConnection())
        {
            first = connection.Handle;
            Assert.Equal((10000L, 1L, 1L), Settings(connection));
        }
        using (var again = file.OpenConnection())
        {
            // The pool hands back the same native connection, whose settings were applied once.
            Assert.Same(first, again.Handle);
            Assert.Equal((10000L, 1L, 1L), Settings(again));
            using var concurrent = file.OpenConnection();
            Assert.NotSame(first, concurrent.Handle);
            Assert.Equal((10000L, 1L, 1L), Settings(concurrent));
        }
    }
}
