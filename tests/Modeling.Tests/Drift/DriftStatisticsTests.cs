using Platform.Modeling.Drift;

namespace Platform.Modeling.Tests.Drift;

public sealed class DriftStatisticsTests
{
    private static double[] Normal(int n, int seed, double scale = 1.0)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => scale * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())).ToArray();
    }

    [Fact]
    public void Psi_SameDistribution_StaysBelowTheUsualThreshold()
    {
        var reference = ReferenceProfile.From(Normal(2000, 1), 10);

        Assert.InRange(DriftStatistics.Psi(reference, Normal(500, 2)), 0, 0.1);
    }

    [Fact]
    public void Psi_ScaleTimesTwoAndAHalf_ExceedsTheUsualThreshold()
    {
        var reference = ReferenceProfile.From(Normal(2000, 1), 10);

        Assert.True(DriftStatistics.Psi(reference, Normal(500, 2, scale: 2.5)) > 0.25);
    }

    [Fact]
    public void Ks_ShiftedSample_ExceedsCriticalValueAndSameSampleDoesNot()
    {
        var reference = ReferenceProfile.From(Normal(2000, 1), 10);
        var same = Normal(200, 5);
        var shifted = same.Select(v => v + 1.0).ToArray();
        var critical = DriftStatistics.KsCritical(0.001, 2000, 200);

        Assert.True(DriftStatistics.Ks(reference.Sorted, same) < critical);
        Assert.True(DriftStatistics.Ks(reference.Sorted, shifted) > critical);
        Assert.Equal(0, DriftStatistics.Ks(reference.Sorted, reference.Sorted));
    }

    [Fact]
    public void ReferenceProfile_Frequencies_SumToOne()
    {
        var reference = ReferenceProfile.From(Normal(1000, 9), 10);

        Assert.Equal(1.0, reference.Frequencies.Sum(), 9);
        Assert.Equal(9, reference.Edges.Length);
    }

    [Fact]
    public void ReferenceProfile_LargeSample_KeepsASketchWithinOneShareOfTheSample()
    {
        var values = Normal(10_000, 3);
        var full = values.Order().ToArray();

        var reference = ReferenceProfile.From(values, 10);

        Assert.Equal(10_000, reference.Count);
        Assert.Equal(ReferenceProfile.SketchSize, reference.Sorted.Length);
        Assert.True(DriftStatistics.Ks(full, reference.Sorted) <= 1.0 / ReferenceProfile.SketchSize + 1e-9);
    }
}
