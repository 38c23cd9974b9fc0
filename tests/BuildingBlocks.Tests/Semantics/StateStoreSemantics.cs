namespace Platform.BuildingBlocks.Tests.Semantics;

/// <summary>
/// The state semantics every adapter must show (Dapr's state API): ETag first-write-wins, last-write-wins
/// without an ETag, atomic transactions, bulk get. Derive and supply the store.
/// </summary>
public abstract class StateStoreSemantics
{
    protected abstract IStateStore Store { get; }

    [SemanticsFact]
    public async Task GetAsync_AbsentKey_ReturnsNull()
    {
        Assert.Null(await Store.GetAsync("absent"));
    }

    [SemanticsFact]
    public async Task SaveAsync_WithoutETag_LastWriteWins()
    {
        Assert.Equal(StateOutcome.Ok, await Store.SaveAsync("k", 1));
        Assert.Equal(StateOutcome.Ok, await Store.SaveAsync("k", 2));
        Assert.Equal(2, await Store.GetAsync<int>("k"));
    }

    [SemanticsFact]
    public async Task SaveAsync_CurrentETag_SucceedsAndChangesETag()
    {
        await Store.SaveAsync("k", "a");
        var (_, etag) = await Store.GetWithETagAsync<string>("k");
        Assert.Equal(StateOutcome.Ok, await Store.SaveAsync("k", "b", etag));
        var (value, next) = await Store.GetWithETagAsync<string>("k");
        Assert.Equal("b", value);
        Assert.NotEqual(etag, next);
    }

    [SemanticsFact]
    public async Task SaveAsync_StaleETag_ReturnsConflictAndKeepsValue()
    {
        await Store.SaveAsync("k", "a");
        var (_, stale) = await Store.GetWithETagAsync<string>("k");
        await Store.SaveAsync("k", "b", stale);
        Assert.Equal(StateOutcome.Conflict, await Store.SaveAsync("k", "c", stale));
        Assert.Equal("b", await Store.GetAsync<string>("k"));
    }

    [SemanticsFact]
    public async Task SaveAsync_ETagOnAbsentKey_ReturnsConflict()
    {
        Assert.Equal(StateOutcome.Conflict, await Store.SaveAsync("new", 1, "12345"));
        Assert.Null(await Store.GetAsync("new"));
    }

    [SemanticsFact]
    public async Task SaveAsync_ETagFromBeforeDeleteAndRecreate_ReturnsConflict()
    {
        await Store.SaveAsync("k", 1);
        var (_, old) = await Store.GetWithETagAsync<int>("k");
        await Store.DeleteAsync("k");
        await Store.SaveAsync("k", 2);
        Assert.Equal(StateOutcome.Conflict, await Store.SaveAsync("k", 3, old));
    }

    [SemanticsFact]
    public async Task DeleteAsync_AbsentKeyWithoutETag_Succeeds()
    {
        Assert.Equal(StateOutcome.Ok, await Store.DeleteAsync("absent"));
    }

    [SemanticsFact]
    public async Task DeleteAsync_StaleETag_ReturnsConflictAndKeepsValue()
    {
        await Store.SaveAsync("k", 1);
        var (_, stale) = await Store.GetWithETagAsync<int>("k");
        await Store.SaveAsync("k", 2);
        Assert.Equal(StateOutcome.Conflict, await Store.DeleteAsync("k", stale));
        Assert.Equal(2, await Store.GetAsync<int>("k"));
    }

    [SemanticsFact]
    public async Task DeleteAsync_CurrentETag_Deletes()
    {
        await Store.SaveAsync("k", 1);
        var (_, etag) = await Store.GetWithETagAsync<int>("k");
        Assert.Equal(StateOutcome.Ok, await Store.DeleteAsync("k", etag));
        Assert.Null(await Store.GetAsync("k"));
    }

    [SemanticsFact]
    public async Task TransactAsync_AllValid_AppliesEveryOperation()
    {
        await Store.SaveAsync("gone", 0);
        var outcome = await Store.TransactAsync([
            StateStoreExtensions.Upsert("a", 1),
            StateStoreExtensions.Upsert("b", 2),
            new StateOperation.Delete("gone"),
        ]);
        Assert.Equal(StateOutcome.Ok, outcome);
        Assert.Equal(1, await Store.GetAsync<int>("a"));
        Assert.Equal(2, await Store.GetAsync<int>("b"));
        Assert.Null(await Store.GetAsync("gone"));
    }

    [SemanticsFact]
    public async Task TransactAsync_OneStaleETag_AppliesNothing()
    {
        await Store.SaveAsync("guarded", 1);
        var (_, stale) = await Store.GetWithETagAsync<int>("guarded");
        await Store.SaveAsync("guarded", 2);
        await Store.SaveAsync("victim", "kept");

        var outcome = await Store.TransactAsync([
            StateStoreExtensions.Upsert("a", 1),
            new StateOperation.Delete("victim"),
            StateStoreExtensions.Upsert("guarded", 3, stale),
        ]);

        Assert.Equal(StateOutcome.TransactionFailed, outcome);
        Assert.Null(await Store.GetAsync("a"));
        Assert.Equal("kept", await Store.GetAsync<string>("victim"));
        Assert.Equal(2, await Store.GetAsync<int>("guarded"));
    }

    [SemanticsFact]
    public async Task TransactAsync_SeveralOperationsOfEachKind_AppliesEachWithItsOwnKeyValueAndETag()
    {
        for (var i = 0; i < 4; i++) await Store.SaveAsync($"guarded{i}", i);
        await Store.SaveAsync("gone0", "x");
        await Store.SaveAsync("gone1", "y");
        var etags = new List<string>();
        for (var i = 0; i < 4; i++) etags.Add((await Store.GetWithETagAsync<int>($"guarded{i}")).ETag!);
        var (_, goneETag) = await Store.GetWithETagAsync<string>("gone1");

        var outcome = await Store.TransactAsync([
            .. Enumerable.Range(0, 5).Select(i => StateStoreExtensions.Upsert($"plain{i}", i * 10)),
            .. Enumerable.Range(0, 4).Select(i => StateStoreExtensions.Upsert($"guarded{i}", 100 + i, etags[i])),
            new StateOperation.Delete("gone0"),
            new StateOperation.Delete("gone1", goneETag),
        ]);

        Assert.Equal(StateOutcome.Ok, outcome);
        for (var i = 0; i < 5; i++) Assert.Equal(i * 10, await Store.GetAsync<int>($"plain{i}"));
        for (var i = 0; i < 4; i++) Assert.Equal(100 + i, await Store.GetAsync<int>($"guarded{i}"));
        Assert.Null(await Store.GetAsync("gone0"));
        Assert.Null(await Store.GetAsync("gone1"));
        var newETags = new List<string>();
        for (var i = 0; i < 4; i++) newETags.Add((await Store.GetWithETagAsync<int>($"guarded{i}")).ETag!);
        Assert.Equal(4, newETags.Distinct().Count());
        Assert.Empty(newETags.Intersect(etags));
    }

    [SemanticsFact]
    public async Task GetBulkAsync_MixedKeys_ReturnsFoundItemsWithETags()
    {
        await Store.SaveAsync("x", 1);
        await Store.SaveAsync("y", 2);
        var items = await Store.GetBulkAsync(["x", "missing", "y"]);
        Assert.Equal(["x", "y"], items.Select(i => i.Key).Order());
        Assert.All(items, i => Assert.False(string.IsNullOrEmpty(i.ETag)));
    }

    [SemanticsFact]
    public async Task UpdateAsync_ConcurrentIncrements_LosesNone()
    {
        await Store.SaveAsync("counter", 0);
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 25; i++) await Store.UpdateAsync<int>("counter", n => n + 1, maxAttempts: 200);
        }));
        await Task.WhenAll(workers);
        Assert.Equal(100, await Store.GetAsync<int>("counter"));
    }

    [SemanticsTheory]
    [InlineData("")]
    [InlineData("a||b")]
    public async Task SaveAsync_InvalidKey_Throws(string key)
    {
        await Assert.ThrowsAsync<StateStoreException>(() => Store.SaveAsync(key, 1));
    }
}
