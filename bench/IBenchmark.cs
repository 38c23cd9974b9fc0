namespace Platform.Bench;

/// <summary>
/// One named benchmark. It prints its figures as it goes and returns the summary line
/// <c>NAME: &lt;figure&gt; &lt;unit&gt; (&lt;ratio&gt; vs &lt;reference&gt;)</c>. Implementations are found by reflection,
/// so adding a benchmark is adding a class.
/// </summary>
public interface IBenchmark
{
    string Name { get; }
    string Description { get; }
    Task<string> RunAsync(BenchContext context, CancellationToken ct);
}

/// <summary>
/// What a benchmark may use: a scratch directory, an output writer, the repository's neighbours, and the command line
/// after the benchmark's name (for options of its own, such as <c>--seconds 30</c>).
/// </summary>
public sealed record BenchContext(string WorkDir, TextWriter Out, string? SharedDataDir, bool Quick, IReadOnlyList<string>? Args = null)
{
    public void Line(string text) => Out.WriteLine(text);

    /// <summary>The text after <paramref name="name"/> on the command line, or null when <paramref name="name"/> is absent.</summary>
    public string? Option(string name)
    {
        var args = Args ?? [];
        for (var i = 0; i < args.Count; i++)
            if (args[i] == name)
                return i + 1 < args.Count ? args[i + 1] : throw new ArgumentException($"{name} needs a value.");
        return null;
    }

    /// <summary>
    /// The <c>KEY=VALUE;...</c> settings after <paramref name="name"/> (as <c>--variant</c> takes them), or those of
    /// <paramref name="fallback"/> when it is absent; null when both are.
    /// </summary>
    public Dictionary<string, string>? SettingsOption(string name, string? fallback = null) =>
        (Option(name) ?? fallback)?.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(kv => kv.Split('=', 2))
            .ToDictionary(kv => kv[0], kv => kv.Length == 2 ? kv[1] : throw new ArgumentException($"{name}: '{kv[0]}' has no value."));

    /// <summary>The positive integer after <paramref name="name"/> on the command line, or <paramref name="fallback"/> when it is absent.</summary>
    public int IntOption(string name, int fallback)
    {
        var text = Option(name);
        if (text is null) return fallback;
        return int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new ArgumentException($"{name} needs a positive integer.");
    }
}
