using System.Text.Json;
using Platform.Modeling.Datasets;
using Platform.Modeling.Reports;

namespace Platform.Modeling.Drift;

/// <summary>
/// What a registered version was trained and validated on, stored with it (registry file <see cref="FileName"/>) so that
/// monitoring can tell when live inputs or outputs leave it: a profile per feature over the training rows, and the
/// profile of the version's out-of-sample predictions over the final period (the winner refitted on the inner rows, as the
/// model card scores it). Features whose training rows hold no finite value have no profile.
/// </summary>
public sealed record ModelReference(
    string FeatureSet, int Bins, DateTimeOffset From, DateTimeOffset To, int Rows,
    IReadOnlyDictionary<string, ReferenceProfile> Features,
    ReferenceProfile? Predictions, DateTimeOffset? PredictionsFrom, DateTimeOffset? PredictionsTo)
{
    public const string FileName = "reference.json";

    /// <summary>Order statistics kept per feature (the KS sketch): 64 keep a 158-feature reference near 200 KB.</summary>
    public const int FeatureSketchSize = 64;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static ModelReference Build(Dataset ds, IReadOnlyList<double> finalPredictions, DateTimeOffset? finalFrom, DateTimeOffset? finalTo,
        int bins = 10)
    {
        var features = new Dictionary<string, ReferenceProfile>(StringComparer.Ordinal);
        var column = new List<double>(ds.Rows);
        for (var j = 0; j < ds.Frame.Columns; j++)
        {
            column.Clear();
            for (var i = 0; i < ds.Rows; i++)
            {
                var v = ds.Frame.Values[i * ds.Frame.Columns + j];
                if (float.IsFinite(v)) column.Add(v);
            }
            if (column.Count > 0) features[ds.Frame.Names[j]] = ReferenceProfile.From(column, bins, FeatureSketchSize);
        }
        var predictions = finalPredictions.Any(double.IsFinite) ? ReferenceProfile.From(finalPredictions, bins) : null;
        return new ModelReference(ds.Spec.Features.Id, bins, ds.Spec.From, ds.Spec.To, ds.Rows, features, predictions, finalFrom, finalTo);
    }

    public ReportFile ToFile() => new(FileName, "application/json", JsonSerializer.SerializeToUtf8Bytes(this, Json));

    public static ModelReference Read(ReportFile file) =>
        JsonSerializer.Deserialize<ModelReference>(file.Content, Json)
        ?? throw new JsonException($"{file.Name} holds no reference.");
}
