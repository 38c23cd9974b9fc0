using Platform.Modeling.Registry;
using Platform.Serving.Apis;
using Platform.Serving.Models;

namespace Platform.Serving.Tests;

public sealed class HotSwapTests
{
    [Fact]
    public async Task ModelPromoted_NewChampion_IsServedWithoutRestart()
    {
        await using var host = await ServingHost.StartAsync(r => ServingHost.RegisterAndPromoteAsync(r, "m", ServingHost.ConstantModel(1)));
        var v2 = await host.Registry.RegisterAsync("m", ServingHost.ConstantModel(2), ServingHost.Lineage(), null);
        await host.Registry.PromoteAsync("m", v2.Version, ModelStage.Production);
        await host.WaitForVersionAsync("m", 2);
        var p = (await (await host.Http.PostAsJsonAsync(host.Url + "/v1/predictions", new { model = "m", symbol = "A", features = new[] { 0.0, 0, 0 } }))
            .Content.ReadFromJsonAsync<PredictionResponse>())!;
        Assert.Equal((2, 2.0), (p.Version, p.Prediction));
        // Rollback is a promotion too.
        await host.Registry.RollbackAsync("m");
        await host.WaitForVersionAsync("m", 1);
    }

    [Fact]
    public async Task RefreshAsync_TamperedArtifact_KeepsServingThePreviousVersion()
    {
        await using var host = await ServingHost.StartAsync(r => ServingHost.RegisterAndPromoteAsync(r, "m", ServingHost.ConstantModel(1)));
        var source = new TamperingSource(host.Registry);
        using var models = new ModelHost(source, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<ModelHost>.Instance);
        await models.LoadAllAsync(CancellationToken.None);
        var v2 = await host.Registry.RegisterAsync("m", ServingHost.ConstantModel(2), ServingHost.Lineage(), null);
        await host.Registry.PromoteAsync("m", v2.Version, ModelStage.Production);
        source.Tamper = true;
        await models.RefreshAsync("m", CancellationToken.None);
        Assert.Equal(1, models.Snapshot.Models["m"].Version);
        Assert.Contains(models.Errors, e => e.Model == "m" && e.Error.Contains("SHA-256"));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Predict_ConcurrentLoadDuringPromotions_NoFailureAndNoMixedVersions()
    {
        await using var host = await ServingHost.StartAsync(async r =>
        {
            await ServingHost.RegisterAndPromoteAsync(r, "m", ServingHost.ConstantModel(1));
            await r.RegisterAsync("m", ServingHost.ConstantModel(2), ServingHost.Lineage(), null);
        });
        using var stop = new CancellationTokenSource();
        var failures = 0;
        var mixed = 0;
        var ok = 0;
        var versions = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var response = await host.Http.PostAsJsonAsync(host.Url + "/v1/predictions", new { model = "m", symbol = "A", features = new[] { 0.0, 0, 0 } });
                if (response.StatusCode != HttpStatusCode.OK) { Interlocked.Increment(ref failures); continue; }
                var p = (await response.Content.ReadFromJsonAsync<PredictionResponse>())!;
                // Version v predicts exactly v: any other pairing would be a request that mixed two models.
                if (p.Prediction != p.Version) Interlocked.Increment(ref mixed);
                versions.AddOrUpdate(p.Version, 1, (_, n) => n + 1);
                Interlocked.Increment(ref ok);
            }
        })).ToArray();
        for (var i = 0; i < 10; i++)
        {
            var target = i % 2 == 0 ? 2 : 1;
            await host.Registry.PromoteAsync("m", target, ModelStage.Production);
            await host.WaitForVersionAsync("m", target);
            await Task.Delay(100);
        }
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        Assert.Equal(0, failures);
        Assert.Equal(0, mixed);
        Assert.True(ok > 100, $"only {ok} requests");
        Assert.Equal([1, 2], versions.Keys.Order());
    }

    [Fact]
    public async Task Lease_HeldAcrossASwap_KeepsTheOldModelAliveUntilReleased()
    {
        await using var host = await ServingHost.StartAsync(async r =>
        {
            await ServingHost.RegisterAndPromoteAsync(r, "m", ServingHost.ConstantModel(1));
            await r.RegisterAsync("m", ServingHost.ConstantModel(2), ServingHost.Lineage(), null);
        });
        Assert.True(host.Models.TryLease("m", out var lease));
        await host.Registry.PromoteAsync("m", 2, ModelStage.Production);
        await host.Models.RefreshAsync("m", CancellationToken.None);
        Assert.False(lease.Model.IsRetired);
        Assert.Equal(1.0, lease.Model.Predict([0f, 0f, 0f]));
        lease.Dispose();
        Assert.True(lease.Model.IsRetired);
        Assert.Equal(2, host.Models.Snapshot.Models["m"].Version);
    }

    private sealed class TamperingSource(ModelRegistry registry) : IModelSource
    {
        private readonly RegistryModelSource _inner = new(new StoreProvider(registry.Store), new NoPublisher());
        public bool Tamper { get; set; }

        public Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken ct) => _inner.ListModelsAsync(ct);

        public async Task<ModelArtifactBytes?> GetChampionAsync(string model, CancellationToken ct)
        {
            var a = await _inner.GetChampionAsync(model, ct);
            if (a is null || !Tamper) return a;
            var bytes = (byte[])a.Artifact.Clone();
            bytes[^1] ^= 0xFF;
            return a with { Artifact = bytes };
        }
    }

    private sealed class StoreProvider(Platform.BuildingBlocks.State.IStateStore store) : Platform.BuildingBlocks.State.IStateStoreProvider
    {
        public Platform.BuildingBlocks.State.IStateStore Get(string componentName) => store;
    }

    private sealed class NoPublisher : Platform.BuildingBlocks.PubSub.IEventPublisher
    {
        public Task PublishAsync(Platform.BuildingBlocks.PubSub.OutgoingEvent e, CancellationToken ct = default) => Task.CompletedTask;
    }
}
