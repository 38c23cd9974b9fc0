using System.Diagnostics;
using System.Globalization;

namespace Platform.Quant.Tests.Indicators;

/// <summary>
/// Builds TA-Lib from source with tools/talib-reference/build.sh (copied next to the test assembly)
/// and loads its reference CSV: the input bars and, per function, the values by bar index.
/// The build output is cached under the temp directory, keyed by the script's own stamp.
/// </summary>
public sealed class TaLibReference
{
    private static readonly Lazy<TaLibReference> Shared = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    public static TaLibReference Instance => Shared.Value;

    public required Bar[] Bars { get; init; }
    public required Dictionary<string, SortedDictionary<int, double>> Values { get; init; }

    private static TaLibReference Build()
    {
        var script = Path.Combine(AppContext.BaseDirectory, "talib-reference", "build.sh");
        if (!File.Exists(script)) throw new InvalidOperationException($"TA-Lib reference builder not found at {script}.");
        var outDir = Path.Combine(Path.GetTempPath(), "talib-reference");
        var psi = new ProcessStartInfo("bash", [script, outDir])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("Could not start bash for the TA-Lib build.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException("The TA-Lib reference build did not finish within 10 minutes.");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException(
                $"The TA-Lib reference build failed (exit code {process.ExitCode}); it needs npm and gcc.\n{stdout.Result}\n{stderr.Result}");
        return Parse(Path.Combine(outDir, "talib-reference.csv"));
    }

    private static TaLibReference Parse(string path)
    {
        var bars = new List<Bar>();
        var values = new Dictionary<string, SortedDictionary<int, double>>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(path))
        {
            var f = line.Split(',');
            if (f[0] == "bar")
            {
                var i = int.Parse(f[1], CultureInfo.InvariantCulture);
                double D(int k) => double.Parse(f[k], CultureInfo.InvariantCulture);
                bars.Add(new Bar(SeededBars.Start.AddDays(i), D(2), D(3), D(4), D(5), D(6)));
            }
            else if (f[0] == "ref")
            {
                if (!values.TryGetValue(f[1], out var series)) values[f[1]] = series = new SortedDictionary<int, double>();
                series[int.Parse(f[2], CultureInfo.InvariantCulture)] = double.Parse(f[3], CultureInfo.InvariantCulture);
            }
        }
        return new TaLibReference { Bars = bars.ToArray(), Values = values };
    }
}
