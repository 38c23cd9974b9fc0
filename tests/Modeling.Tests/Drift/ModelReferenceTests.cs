using Platform.Modeling.Datasets;
using Platform.Modeling.Drift;
using Platform.Modeling.Targets;

namespace Platform.Modeling.Tests.Drift;

public sealed class ModelReferenceTests
{
    [Fact]
    public void Build_Dataset_ProfilesEveryFeatureThatHasValuesAndRoundTripsThroughItsFile()
    {
        var ds = DatasetBuilder.Build(Synthetic.Spec(["A", "B"], TargetKind.Return, 5, days: 300),
            [Synthetic.Input("A", Synthetic.Bars(320, 1)), Synthetic.Input("B", Synthetic.Bars(320, 2))]);
        var predictions = Enumerable.Range(0, 50).Select(i => i / 100.0).ToArray();
        var withValues = Enumerable.Range(0, ds.Frame.Columns).Count(j => Enumerable.Range(0, ds.Rows).Any(i => float.IsFinite(ds.Frame.Row(i)[j])));

        var reference = ModelReference.Build(ds, predictions, ds.Times[^50], ds.Times[^1]);
        var read = ModelReference.Read(reference.ToFile());

        Assert.Equal(ModelReference.FileName, reference.ToFile().Name);
        Assert.Equal(ds.Spec.Features.Id, read.FeatureSet);
        Assert.Equal(ds.Rows, read.Rows);
        Assert.Equal(withValues, read.Features.Count);
        Assert.All(read.Features.Values, p => Assert.InRange(p.Sorted.Length, 1, ModelReference.FeatureSketchSize));
        Assert.Equal(50, read.Predictions!.Count);
        Assert.Equal(reference.Predictions!.Edges, read.Predictions.Edges);
        Assert.Equal(ds.Times[^50], read.PredictionsFrom);
    }
}
