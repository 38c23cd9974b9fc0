using System.Collections.Concurrent;
using Platform.BuildingBlocks.Embedded;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Modeling.Registry;
using Platform.Modeling.Validation;

namespace Platform.Modeling.Tests;

internal sealed class RecordingPublisher : IEventPublisher
{
    public ConcurrentQueue<OutgoingEvent> Events { get; } = new();

    public Task PublishAsync(OutgoingEvent e, CancellationToken ct = default)
    {
        Events.Enqueue(e);
        return Task.CompletedTask;
    }
}

/// <summary>Holds every reader of the model entry until <paramref name="readers"/> have read it: forces a true race.</summary>
internal sealed class RendezvousStore(IStateStore inner, string key, int readers) : IStateStore
{
    private readonly Barrier _barrier = new(readers);
    private int _armed = readers;

    public string Name => inner.Name;

    public async Task<StateItem?> GetAsync(string k, CancellationToken ct = default)
    {
        var item = await inner.GetAsync(k, ct);
        if (k == key && Interlocked.Decrement(ref _armed) >= 0) await Task.Run(() => _barrier.SignalAndWait(TimeSpan.FromSeconds(10)), ct);
        return item;
    }

    public Task<IReadOnlyList<StateItem>> GetBulkAsync(IReadOnlyCollection<string> keys, CancellationToken ct = default) => inner.GetBulkAsync(keys, ct);
    public Task<StateOutcome> SaveAsync(string k, ReadOnlyMemory<byte> value, string? etag = null, CancellationToken ct = default) => inner.SaveAsync(k, value, etag, ct);
    public Task<StateOutcome> DeleteAsync(string k, string? etag = null, CancellationToken ct = default) => inner.DeleteAsync(k, etag, ct);
    public Task<StateOutcome> TransactAsync(IReadOnlyList<StateOperation> operations, CancellationToken ct = default) => inner.TransactAsync(operations, ct);
}

public sealed class RegistryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("registry-tests-").FullName;
    private readonly IStateStore _store;
    private readonly RecordingPublisher _publisher = new();
    private readonly ModelRegistry _registry;

    public RegistryTests()
    {
        _store = new SqliteStateStore(SqliteFile.Open(Path.Combine(_dir, "state.db"), SqliteStateStore.Schema), "modelstore", "modelstore");
        _registry = new ModelRegistry(_store, _publisher, options: new ModelRegistryOptions { ChunkBytes = 1000 });
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static ModelLineage Lineage(double rankIc) => new("fp", "alpha158@1", "h", "return:5", 5, ["A"],
        DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddDays(100), "ridge", new(StringComparer.Ordinal), 42, [],
        new MetricSet(100, 0.01, 0.008, 0.01, rankIc, rankIc, 0.52, null, "time-series"), 0.5, 0.5, "test");

    private static byte[] Artifact(int n, byte seed) => Enumerable.Range(0, n).Select(i => (byte)(i * 31 + seed)).ToArray();

    [Fact]
    public async Task Register_NewModel_VersionOneInStageNoneWithChunkedArtifact()
    {
        var artifact = Artifact(3500, 1);
        var v = await _registry.RegisterAsync("alpha", artifact, Lineage(0.05), "run-1");
        Assert.Equal(1, v.Version);
        Assert.Equal(ModelStage.None, v.Stage);
        Assert.Equal(4, v.ChunkCount);
        var (loaded, bytes) = await _registry.LoadArtifactAsync("alpha", "1");
        Assert.Equal(artifact, bytes);
        Assert.Equal(v.ArtifactSha256, loaded.ArtifactSha256);
        Assert.Equal(["alpha"], await _registry.ListModelsAsync());
        var e = Assert.Single(_publisher.Events);
        Assert.Equal("model:alpha:1:registered", e.Id);
        Assert.Empty((await _registry.GetEntryAsync("alpha"))!.Pending);
    }

    [Fact]
    public async Task Register_SameRunTwice_ReturnsFirstVersionWithoutDuplicate()
    {
        var a = await _registry.RegisterAsync("alpha", Artifact(10, 1), Lineage(0.05), "run-1");
        var b = await _registry.RegisterAsync("alpha", Artifact(10, 2), Lineage(0.05), "run-1");
        Assert.Equal(a.Version, b.Version);
        Assert.Equal(a.ArtifactSha256, b.ArtifactSha256);
        Assert.Single(await _registry.ListVersionsAsync("alpha"));
        Assert.Single(_publisher.Events);
    }

    [Fact]
    public async Task Promote_StagingThenProduction_MovesAliasesAndArchivesOldChampion()
    {
        await _registry.RegisterAsync("m", Artifact(10, 1), Lineage(0.01), "r1");
        await _registry.RegisterAsync("m", Artifact(10, 2), Lineage(0.02), "r2");
        await _registry.PromoteAsync("m", 1, ModelStage.Production);
        await _registry.PromoteAsync("m", 2, ModelStage.Staging);
        Assert.Equal(2, (await _registry.GetVersionAsync("m", ModelAliases.Challenger)).Version);
        var result = await _registry.PromoteAsync("m", 2, ModelStage.Production);
        Assert.Equal(2, result.Champion);
        Assert.Null(result.Challenger);
        var versions = await _registry.ListVersionsAsync("m");
        Assert.Equal([ModelStage.Archived, ModelStage.Production], versions.Select(v => v.Stage));
        Assert.Single(versions, v => v.Stage == ModelStage.Production);
        Assert.Contains(_publisher.Events, e => e.Id.StartsWith("model:m:2:promoted-production-r", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Promote_PolicyMarginNotMet_RefusedAndChampionKept()
    {
        await _registry.RegisterAsync("m", Artifact(10, 1), Lineage(0.030), "r1");
        await _registry.RegisterAsync("m", Artifact(10, 2), Lineage(0.035), "r2");
        await _registry.RegisterAsync("m", Artifact(10, 3), Lineage(0.050), "r3");
        var policy = new PromotionPolicy("rank_ic", MinImprovement: 0.01);
        await _registry.PromoteAsync("m", 1, ModelStage.Production, policy);
        var ex = await Assert.ThrowsAsync<PromotionRejectedException>(() => _registry.PromoteAsync("m", 2, ModelStage.Production, policy));
        Assert.Contains("does not exceed", ex.Message);
        Assert.Equal(1, (await _registry.GetEntryAsync("m"))!.Champion);
        await _registry.PromoteAsync("m", 3, ModelStage.Production, policy);
        Assert.Equal(3, (await _registry.GetEntryAsync("m"))!.Champion);
    }

    [Fact]
    public async Task Rollback_AfterTwoPromotions_RestoresPreviousChampion()
    {
        for (var i = 1; i <= 3; i++) await _registry.RegisterAsync("m", Artifact(10, (byte)i), Lineage(0.01 * i), "r" + i);
        await _registry.PromoteAsync("m", 1, ModelStage.Production);
        await _registry.PromoteAsync("m", 2, ModelStage.Production);
        await _registry.PromoteAsync("m", 3, ModelStage.Production);
        var r = await _registry.RollbackAsync("m");
        Assert.Equal(2, r.Champion);
        var stages = (await _registry.ListVersionsAsync("m")).Select(v => v.Stage).ToArray();
        Assert.Equal([ModelStage.Archived, ModelStage.Production, ModelStage.Archived], stages);
        Assert.Equal(1, (await _registry.RollbackAsync("m")).Champion);
        await Assert.ThrowsAsync<RegistryException>(() => _registry.RollbackAsync("m"));
    }

    [Fact]
    public async Task Archive_Champion_IsRefused_OtherVersionArchived()
    {
        await _registry.RegisterAsync("m", Artifact(10, 1), Lineage(0.01), "r1");
        await _registry.RegisterAsync("m", Artifact(10, 2), Lineage(0.01), "r2");
        await _registry.PromoteAsync("m", 1, ModelStage.Production);
        await Assert.ThrowsAsync<RegistryException>(() => _registry.ArchiveAsync("m", 1));
        Assert.Equal(ModelStage.Archived, (await _registry.ArchiveAsync("m", 2)).Stage);
    }

    [Fact]
    public async Task Promote_TwoConcurrentPromotions_ExactlyOneWins()
    {
        await _registry.RegisterAsync("m", Artifact(10, 1), Lineage(0.01), "r1");
        await _registry.RegisterAsync("m", Artifact(10, 2), Lineage(0.02), "r2");
        // Both promotions read the entry (same ETag) before either writes.
        var racing = new ModelRegistry(new RendezvousStore(_store, "registry/models/m", 2), _publisher);
        var results = await Task.WhenAll(
            Capture(() => racing.PromoteAsync("m", 1, ModelStage.Production)),
            Capture(() => racing.PromoteAsync("m", 2, ModelStage.Production)));
        Assert.Single(results, r => r is null);
        Assert.Single(results, r => r is RegistryConflictException);
        var versions = await _registry.ListVersionsAsync("m");
        Assert.Single(versions, v => v.Stage == ModelStage.Production);
        Assert.Empty((await _registry.GetEntryAsync("m"))!.ChampionHistory);
    }

    private static async Task<Exception?> Capture(Func<Task> action)
    {
        try { await action(); return null; }
        catch (Exception ex) { return ex; }
    }

    [Fact]
    public async Task LoadArtifact_CorruptChunk_ThrowsAndRegistryUnchanged()
    {
        var v = await _registry.RegisterAsync("m", Artifact(2500, 1), Lineage(0.01), "r1");
        await _registry.PromoteAsync("m", 1, ModelStage.Production);
        var before = (await _store.GetAsync("registry/models/m"))!;
        var key = $"registry/artifacts/{v.ArtifactSha256}/1";
        var chunk = Encoding.UTF8.GetString((await _store.GetAsync(key))!.Value.Span);
        var tampered = chunk.Replace(chunk[12..16], "AAAA");
        Assert.NotEqual(chunk, tampered);
        await _store.SaveAsync(key, Encoding.UTF8.GetBytes(tampered));

        var ex = await Assert.ThrowsAsync<ArtifactIntegrityException>(() => _registry.LoadArtifactAsync("m", ModelAliases.Champion));
        Assert.Contains("failed verification", ex.Message);
        Assert.Contains(v.ArtifactSha256, ex.Message);
        var after = (await _store.GetAsync("registry/models/m"))!;
        Assert.Equal(before.ETag, after.ETag);
        Assert.Equal(before.Value.ToArray(), after.Value.ToArray());
    }

    [Fact]
    public async Task FlushOutbox_PendingEventLeftByCrash_IsPublishedOnce()
    {
        await _registry.RegisterAsync("m", Artifact(10, 1), Lineage(0.01), "r1");
        // Simulate a crash after the commit and before the publish: an event left in the outbox.
        await _store.UpdateAsync<Platform.Modeling.Registry.ModelEntry>("registry/models/m", e => e! with
        {
            Pending = [new PendingEvent("ModelPromoted", 1, "Production", "champion", "promoted-production-r9", "sha")],
        });
        await _registry.FlushOutboxAsync();
        Assert.Contains(_publisher.Events, e => e.Id == "model:m:1:promoted-production-r9");
        Assert.Empty((await _registry.GetEntryAsync("m"))!.Pending);
    }

    [Fact]
    public async Task Compare_TwoVersions_ReportsMetricDeltas()
    {
        await _registry.RegisterAsync("m", Artifact(10, 1), Lineage(0.01), "r1");
        await _registry.RegisterAsync("m", Artifact(10, 2), Lineage(0.03), "r2");
        var c = await _registry.CompareAsync("m", "1", "2");
        Assert.Equal(0.02, c.Delta["rank_ic"]!.Value, 12);
    }

    [Theory]
    [InlineData("Bad Name")]
    [InlineData("a||b")]
    [InlineData("")]
    public async Task Register_InvalidName_Refused(string name) =>
        await Assert.ThrowsAsync<RegistryException>(() => _registry.RegisterAsync(name, [1], Lineage(0), null));
}
