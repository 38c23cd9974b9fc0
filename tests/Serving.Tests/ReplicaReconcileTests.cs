using Platform.Modeling.Registry;
using Platform.Serving.Apis;
using Platform.Serving.Models;

namespace Platform.Serving.Tests;

/// <summary>Two serving replicas on one store: a promotion is delivered to one of them (consumer group = app id), and both converge.</summary>
public sealed class ReplicaReconcileTests
{
    [Fact]
    public async Task ModelPromoted_DeliveredToOneOfTwoReplicas_BothServeTheNewChampion()
    {
        await using var first = await ServingHost.StartAsync(r => ServingHost.RegisterAndPromoteAsync(r, "m", ServingHost.ConstantModel(1)));
        await using var second = await ServingHost.StartReplicaAsync(first, new Dictionary<string, string?>
        {
            ["Serving:ReplicaId"] = "replica-b",
            ["Serving:ReconcileInterval"] = "00:00:00.200",
        });
        await second.WaitForVersionAsync("m", 1);

        var v2 = await first.Registry.RegisterAsync("m", ServingHost.ConstantModel(2), ServingHost.Lineage(), null);
        await first.Registry.PromoteAsync("m", v2.Version, ModelStage.Production);
        await first.WaitForVersionAsync("m", 2);
        await second.WaitForVersionAsync("m", 2);

        await first.Registry.RollbackAsync("m");
        await first.WaitForVersionAsync("m", 1);
        await second.WaitForVersionAsync("m", 1);
    }

    [Fact]
    public async Task ReconcileAsync_ChampionChangedWithoutAnEvent_LoadsIt()
    {
        await using var host = await ServingHost.StartAsync(async r =>
        {
            await ServingHost.RegisterAndPromoteAsync(r, "m", ServingHost.ConstantModel(1));
            await r.RegisterAsync("m", ServingHost.ConstantModel(2), ServingHost.Lineage(), null);
        });
        var source = new RegistryModelSource(host.Services.GetRequiredService<Platform.BuildingBlocks.State.IStateStoreProvider>(), new NoEvents());
        using var models = new ModelHost(source, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<ModelHost>.Instance);
        await models.LoadAllAsync(CancellationToken.None);
        var reconciler = new ModelReconciler(models, source, new ServingReplicaOptions(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<ModelReconciler>.Instance);

        await host.Registry.PromoteAsync("m", 2, ModelStage.Production);
        Assert.Equal(1, models.Snapshot.Models["m"].Version);
        await reconciler.ReconcileAsync(CancellationToken.None);

        Assert.Equal(2, models.Snapshot.Models["m"].Version);
    }

    [Fact]
    public async Task ServedModels_Replica_NamesItselfInTheAnswerAndTheHeader()
    {
        await using var first = await ServingHost.StartAsync(r => ServingHost.RegisterAndPromoteAsync(r, "m", ServingHost.ConstantModel(1)));
        await using var second = await ServingHost.StartReplicaAsync(first, new Dictionary<string, string?> { ["Serving:ReplicaId"] = "replica-b" });

        var response = await second.Http.GetAsync(second.Url + "/v1/serving/models");
        var status = await response.Content.ReadFromJsonAsync<ServingStatus>();

        Assert.Equal("replica-b", status!.Replica);
        Assert.Equal("replica-b", response.Headers.GetValues(ServingService.ReplicaHeader).Single());
        Assert.Equal(1, Assert.Single(status.Models).Version);
    }

    private sealed class NoEvents : Platform.BuildingBlocks.PubSub.IEventPublisher
    {
        public Task PublishAsync(Platform.BuildingBlocks.PubSub.OutgoingEvent e, CancellationToken ct = default) => Task.CompletedTask;
    }
}
