using Platform.Modeling.Datasets;
using Platform.Modeling.Models;
using Platform.Modeling.Targets;
using Platform.Quant;

namespace Platform.Modeling.Tests;

/// <summary>Seeded test data: random-walk bars, simple trailing features, and regression problems with a known answer.</summary>
internal static class Synthetic
{
    public static readonly DateTimeOffset Start = new(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static List<Bar> Bars(int n, int seed, double drift = 0.0, double vol = 0.01)
    {
        var random = new Random(seed);
        var bars = new List<Bar>(n);
        var price = 100.0;
        for (var i = 0; i < n; i++)
        {
            var r = drift + vol * Normal(random) * (1 + 0.5 * Math.Sin(i / 30.0));
            var open = price;
            price *= Math.Exp(r);
            bars.Add(new Bar(Start.AddDays(i), open, Math.Max(open, price) * 1.002, Math.Min(open, price) * 0.998, price, 1000 + i));
        }
        return bars;
    }

    public static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    public static readonly FeatureSetRef Features = new("test@1", "hash1", ["ret1", "ret5", "vol5"], 6);

    /// <summary>Trailing features at each bar: 1- and 5-bar log return, 5-bar mean absolute return. Uses bars up to i only.</summary>
    public static SymbolInput Input(string symbol, IReadOnlyList<Bar> bars)
    {
        var times = new List<DateTimeOffset>();
        var rows = new List<double[]>();
        for (var i = 0; i < bars.Count; i++)
        {
            double R(int k) => i - k >= 0 ? Math.Log(bars[i].Close / bars[i - k].Close) : double.NaN;
            var vol = 0.0;
            for (var k = 0; k < 5; k++) vol += i - k - 1 >= 0 ? Math.Abs(Math.Log(bars[i - k].Close / bars[i - k - 1].Close)) : double.NaN;
            times.Add(bars[i].Time);
            rows.Add([R(1), R(5), vol / 5]);
        }
        return new SymbolInput(symbol, bars, times, rows);
    }

    public static DatasetSpec Spec(IReadOnlyList<string> symbols, TargetKind kind, int horizon, int days = 400) =>
        new(symbols, Start, Start.AddDays(days), "1d", Features, new TargetSpec(kind, horizon));

    /// <summary>Return targets at <paramref name="horizon"/> for symbols A and B over 500 days of seeded bars.</summary>
    public static Dataset TwoSymbolReturns(int horizon) =>
        DatasetBuilder.Build(Spec(["A", "B"], TargetKind.Return, horizon, days: 500),
            [Input("A", Bars(520, 1)), Input("B", Bars(520, 2))]);

    /// <summary>y = 2 x0 - x1 + noise (x2 irrelevant), as float features.</summary>
    public static (FeatureFrame X, double[] Y) Regression(int rows, int seed, double noise = 0.1)
    {
        var random = new Random(seed);
        var x = new float[rows * 3];
        var y = new double[rows];
        for (var i = 0; i < rows; i++)
        {
            double a = Normal(random), b = Normal(random), c = Normal(random);
            x[i * 3] = (float)a; x[i * 3 + 1] = (float)b; x[i * 3 + 2] = (float)c;
            y[i] = 2 * a - b + noise * Normal(random);
        }
        return (new FeatureFrame(x, rows, ["a", "b", "c"]), y);
    }

    public static TrainingData Training(int rows, int seed, bool withValidation = false)
    {
        var (x, y) = Regression(rows, seed);
        if (!withValidation) return new TrainingData(x, y, new TargetSpec(TargetKind.Return, 1), seed);
        var (vx, vy) = Regression(rows / 4, seed + 1);
        return new TrainingData(x, y, new TargetSpec(TargetKind.Return, 1), seed, vx, vy);
    }
}
