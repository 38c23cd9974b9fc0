using System.Text.Json.Serialization;
using Platform.Modeling.Datasets;

namespace Platform.Modeling.Validation;

[JsonConverter(typeof(JsonStringEnumConverter<WindowMode>))]
public enum WindowMode { Expanding, Rolling }

/// <summary>
/// Walk-forward settings, in distinct decision times (bars). The last <c>Folds * TestPeriods</c> times are split
/// into consecutive test blocks. Each training window ends <see cref="PurgePeriods"/> times before its test block
/// (rows whose labels reach into the test block are also dropped), and the <see cref="EmbargoPeriods"/> times
/// after an earlier test block never train a later fold. Purge and embargo must be at least the horizon.
/// </summary>
public sealed record WalkForwardOptions
{
    public int Folds { get; init; } = 5;
    public WindowMode Mode { get; init; } = WindowMode.Expanding;
    /// <summary>Times per test block; null: half of the history divided by the number of folds.</summary>
    public int? TestPeriods { get; init; }
    /// <summary>Training window length for <see cref="WindowMode.Rolling"/>; null: as long as the first fold's.</summary>
    public int? TrainPeriods { get; init; }
    public int MinTrainPeriods { get; init; } = 20;
    /// <summary>Null: the horizon.</summary>
    public int? PurgePeriods { get; init; }
    /// <summary>Null: the horizon.</summary>
    public int? EmbargoPeriods { get; init; }
}

/// <summary>One walk-forward fold: row indices into the dataset and the time ranges they cover.</summary>
public sealed record Fold(int Index, int[] TrainRows, int[] TestRows,
    DateTimeOffset TrainStart, DateTimeOffset TrainEnd, DateTimeOffset TestStart, DateTimeOffset TestEnd);

public static class WalkForward
{
    public static IReadOnlyList<Fold> Split(Dataset dataset, WalkForwardOptions options) =>
        Split(dataset.Times, dataset.LabelEnd, dataset.Target.Horizon, options);

    public static IReadOnlyList<Fold> Split(IReadOnlyList<DateTimeOffset> times, IReadOnlyList<DateTimeOffset> labelEnd, int horizon, WalkForwardOptions options)
    {
        var purge = options.PurgePeriods ?? horizon;
        var embargo = options.EmbargoPeriods ?? horizon;
        if (purge < horizon) throw new ArgumentException($"The purge gap ({purge}) must be at least the horizon ({horizon}).", nameof(options));
        if (embargo < horizon) throw new ArgumentException($"The embargo ({embargo}) must be at least the horizon ({horizon}).", nameof(options));
        if (options.Folds < 1) throw new ArgumentException("At least one fold is needed.", nameof(options));

        var distinct = times.Distinct().Order().ToArray();
        var position = new Dictionary<DateTimeOffset, int>(distinct.Length);
        for (var i = 0; i < distinct.Length; i++) position[distinct[i]] = i;
        var nTimes = distinct.Length;
        var test = options.TestPeriods ?? nTimes / 2 / options.Folds;
        if (test < 1) throw new ArgumentException($"Too little history ({nTimes} times) for {options.Folds} folds.", nameof(options));
        var firstTest = nTimes - options.Folds * test;
        if (firstTest - purge < options.MinTrainPeriods)
            throw new ArgumentException(
                $"Too little history: {nTimes} times leave {Math.Max(0, firstTest - purge)} for the first training window " +
                $"(at least {options.MinTrainPeriods} needed with {options.Folds} folds of {test} and a purge of {purge}).", nameof(options));
        var rollingLength = options.TrainPeriods ?? firstTest - purge;

        // Row positions in time, grouped, so each fold is a linear scan.
        var rowPos = new int[times.Count];
        for (var r = 0; r < times.Count; r++) rowPos[r] = position[times[r]];

        var folds = new List<Fold>(options.Folds);
        for (var k = 0; k < options.Folds; k++)
        {
            var testStart = firstTest + k * test;
            var testEnd = testStart + test; // exclusive
            var trainEnd = testStart - purge; // exclusive
            var trainStart = options.Mode == WindowMode.Rolling ? Math.Max(0, trainEnd - rollingLength) : 0;
            var train = new List<int>();
            var testRows = new List<int>();
            for (var r = 0; r < rowPos.Length; r++)
            {
                var p = rowPos[r];
                if (p >= testStart && p < testEnd) { testRows.Add(r); continue; }
                if (p < trainStart || p >= trainEnd) continue;
                if (labelEnd[r] >= distinct[testStart]) continue; // purge: label overlaps the test block
                if (InEmbargo(p, firstTest, test, k, embargo)) continue;
                train.Add(r);
            }
            folds.Add(new Fold(k, train.ToArray(), testRows.ToArray(),
                distinct[trainStart], distinct[Math.Max(trainStart, trainEnd - 1)], distinct[testStart], distinct[testEnd - 1]));
        }
        return folds;
    }

    /// <summary>True when time position p lies in the embargo after an earlier fold's test block.</summary>
    private static bool InEmbargo(int p, int firstTest, int test, int fold, int embargo)
    {
        for (var j = 0; j < fold; j++)
        {
            var end = firstTest + (j + 1) * test;
            if (p >= end && p < end + embargo) return true;
        }
        return false;
    }

    /// <summary>
    /// Splits training rows (time-ordered) into a fitting part and a later validation part for early stopping, the
    /// last <paramref name="fraction"/> of the distinct times, with a purge gap of <paramref name="gap"/> times between.
    /// </summary>
    public static (int[] Fit, int[] Valid) EarlyStoppingSplit(IReadOnlyList<DateTimeOffset> times, IReadOnlyList<int> rows, double fraction, int gap)
    {
        var distinct = rows.Select(r => times[r]).Distinct().Order().ToArray();
        var validCount = Math.Max(1, (int)(distinct.Length * fraction));
        var validStart = distinct.Length - validCount;
        var fitEnd = validStart - gap;
        if (fitEnd < 1) return (rows.ToArray(), []);
        DateTimeOffset vs = distinct[validStart], fe = distinct[fitEnd];
        return (rows.Where(r => times[r] < fe).ToArray(), rows.Where(r => times[r] >= vs).ToArray());
    }
}
