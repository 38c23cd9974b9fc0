using System.Globalization;
using Platform.Backtesting.Engine.Modeling;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Contracts;
using Platform.Modeling.Models;
using Platform.Modeling.Registry;

namespace Platform.Backtesting.Runs;

/// <summary>Registered model versions from the shared <c>modelstore</c> (read only; the artifact's SHA-256 is verified on load).</summary>
public sealed class RegistryModelSource(IStateStoreProvider stores, IEventPublisher publisher) : IRegisteredModelSource
{
    private readonly ModelRegistry _registry = new(stores.Get(Components.ModelStore), publisher);

    public async Task<int> ResolveAsync(string model, string versionOrAlias, CancellationToken ct = default) =>
        (await _registry.GetVersionAsync(model, versionOrAlias, ct)).Version;

    public async Task<LoadedModel> LoadAsync(string model, int version, CancellationToken ct = default)
    {
        var (v, bytes) = await _registry.LoadArtifactAsync(model, version.ToString(CultureInfo.InvariantCulture), ct);
        var lineage = v.Lineage;
        return new LoadedModel(ModelFactory.Load(bytes), model, v.Version, lineage.Kind, lineage.FeatureSet, lineage.FeatureSetHash, lineage.Target, lineage.Horizon);
    }
}
