using Platform.BuildingBlocks.Embedded;

namespace Platform.BuildingBlocks.Tests.Semantics;

public sealed class EmbeddedStateStoreTests : StateStoreSemantics, IDisposable
{
    private readonly TempDir _dir = new();
    private readonly SqliteFile _file;

    public EmbeddedStateStoreTests()
    {
        _file = SqliteFile.Open(Path.Combine(_dir.Path, "state.db"), SqliteStateStore.Schema);
        Store = Provider("app-a").Get(Components.StateStore);
    }

    protected override IStateStore Store { get; }

    private IStateStoreProvider Provider(string appId) =>
        new EmbeddedStateStoreProvider(_file, appId, EmbeddedStateStoreProvider.DefaultKeyPrefixes);

    [Fact]
    public async Task Get_AppIdPrefixedStore_IsPrivateToTheApp()
    {
        await Provider("app-a").Get(Components.StateStore).SaveAsync("k", "a's");
        Assert.Null(await Provider("app-b").Get(Components.StateStore).GetAsync("k"));
    }

    [Fact]
    public async Task Get_NamePrefixedStore_IsSharedAcrossApps()
    {
        await Provider("training").Get(Components.ModelStore).SaveAsync("model", "v1");
        Assert.Equal("v1", await Provider("serving").Get(Components.ModelStore).GetAsync<string>("model"));
    }

    [Fact]
    public async Task SaveAsync_NonNumericETag_ThrowsWithErrorCode()
    {
        await Store.SaveAsync("k", 1);
        var ex = await Assert.ThrowsAsync<StateStoreException>(() => Store.SaveAsync("k", 2, "not-an-etag"));
        Assert.Equal("ERR_INVALID_ETAG", ex.ErrorCode);
    }

    [Fact]
    public async Task TransactAsync_StaleETag_LeavesTheWriteLockFreeForOtherConnections()
    {
        await Store.SaveAsync("guarded", 1);
        var (_, stale) = await Store.GetWithETagAsync<int>("guarded");
        await Store.SaveAsync("guarded", 2);

        var outcome = await Store.TransactAsync([StateStoreExtensions.Upsert("a", 1), StateStoreExtensions.Upsert("guarded", 3, stale)]);

        // The store keeps its connection: had the failed transaction stayed open on it, the write lock would still be
        // held and a write through another connection would time out.
        Assert.Equal(StateOutcome.TransactionFailed, outcome);
        var other = new SqliteStateStore(_file, Components.StateStore, "app-a");
        Assert.Equal(StateOutcome.Ok, await other.SaveAsync("b", 2));
        Assert.Equal(2, await other.GetAsync<int>("b"));
    }

    [Fact]
    public void Open_CorruptFile_FailsNamingTheFile()
    {
        var path = Path.Combine(_dir.Path, "corrupt.db");
        File.WriteAllBytes(path, Enumerable.Repeat((byte)0x5A, 8192).ToArray());
        var ex = Assert.Throws<DataFileException>(() => SqliteFile.Open(path, SqliteStateStore.Schema));
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Open_DirectoryInPlaceOfFile_FailsNamingTheFile()
    {
        var path = Path.Combine(_dir.Path, "is-a-dir.db");
        Directory.CreateDirectory(path);
        var ex = Assert.Throws<DataFileException>(() => SqliteFile.Open(path, SqliteStateStore.Schema));
        Assert.Contains(path, ex.Message);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}
