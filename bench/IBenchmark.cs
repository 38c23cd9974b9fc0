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

/// <summary>What a benchmark may use: a scratch directory, an output writer, and the repository's neighbours.</summary>
public sealed record BenchContext(string WorkDir, TextWriter Out, string? SharedDataDir, bool Quick)
{
    public void Line(string text) => Out.WriteLine(text);
}
