using Platform.Features.Sets;
using Platform.Quant.Features;

namespace Platform.Features.Tests.Sets;

public sealed class FeatureSetCatalogTests
{
    [Theory]
    [InlineData("alpha158@1", true)]
    [InlineData("indicators@12", true)]
    [InlineData("alpha158", false)]
    [InlineData("@1", false)]
    [InlineData("alpha158@", false)]
    [InlineData("alpha158@0", false)]
    [InlineData("alpha158@-1", false)]
    [InlineData("alpha158@1@2", false)]
    [InlineData("alpha158@v1", false)]
    public void IsWellFormed_Id_RecognisesNameAtVersion(string id, bool expected) =>
        Assert.Equal(expected, FeatureSetCatalog.IsWellFormed(id));

    [Fact]
    public void Constructor_UnknownConfiguredSet_ThrowsNamingTheKnownSets()
    {
        var ex = Assert.Throws<UnknownFeatureSetException>(() => new FeatureSetCatalog(["alpha158@1", "alpha360@1"]));
        Assert.Contains("alpha360@1", ex.Message);
        Assert.Contains("indicators@1", ex.Message);
    }

    [Fact]
    public void Resolve_DifferentHash_ThrowsMismatch()
    {
        var catalog = new FeatureSetCatalog(["alpha158@1"]);
        Assert.Same(FeatureSets.Alpha158V1, catalog.Resolve("alpha158@1", FeatureSets.Alpha158V1.Hash.ToUpperInvariant()));
        Assert.Throws<FeatureSetMismatchException>(() => catalog.Resolve("alpha158@1", FeatureSets.IndicatorsV1.Hash));
        Assert.Throws<FeatureSetNotComputedException>(() => catalog.Resolve("indicators@1"));
        Assert.Throws<UnknownFeatureSetException>(() => catalog.Resolve("alpha158@2"));
    }

    [Fact]
    public async Task Start_UnknownSetConfigured_FailsTheStart()
    {
        var dataDir = Directory.CreateTempSubdirectory("features-badset-").FullName;
        try
        {
            await Assert.ThrowsAsync<UnknownFeatureSetException>(() =>
                FeaturesApp.StartAsync(dataDir, settings: new Dictionary<string, string?> { ["Features:Sets:0"] = "nope@1" }));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataDir, true);
        }
    }

    [Fact]
    public async Task Start_NoSetsConfigured_ComputesBothBuiltInSets()
    {
        await using var app = await FeaturesApp.StartAsync();
        var catalog = app.Services.GetRequiredService<FeatureSetCatalog>();
        Assert.Equal(["alpha158@1", "indicators@1"], catalog.ComputedIds);
    }
}
