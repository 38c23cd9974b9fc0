namespace Platform.Deployment.Tests.Infrastructure;

public sealed record ValidationError(string Source, string Message)
{
    public override string ToString() => $"{Source}: {Message}";
}

public sealed record ValidationReport(int Checked, IReadOnlyList<ValidationError> Errors, int ExitCode)
{
    public bool Passed => ExitCode == 0 && Errors.Count == 0;

    public string Describe() => Errors.Count == 0 ? $"exit {ExitCode}, no errors" : string.Join('\n', Errors);
}

/// <summary>The node validator in validate/ (run tests/Deployment.Tests/setup.sh once to install it).</summary>
public static class Validator
{
    public static ValidationReport Manifests(IEnumerable<string> files) => Run(["manifests", .. files]);

    public static ValidationReport Terraform(string directory) => Run(["terraform", directory]);

    /// <summary>Validates a copy of the repository's <paramref name="file"/> with the first <paramref name="from"/> replaced.</summary>
    public static ValidationReport EditedManifest(string file, string from, string to)
    {
        using var copy = TempCopy.Of([file]);
        copy.Replace(file, from, to);
        return Manifests([copy.PathOf(file)]);
    }

    /// <summary>Validates a copy of the repository's terraform/ tree with the first <paramref name="from"/> in <paramref name="file"/> replaced.</summary>
    public static ValidationReport EditedTerraform(string file, string from, string to)
    {
        using var copy = TempCopy.Of(["terraform"]);
        copy.Replace($"terraform/{file}", from, to);
        return Terraform(copy.PathOf("terraform"));
    }

    private static ValidationReport Run(string[] arguments)
    {
        var modules = Path.Combine(Repository.TestProject, "validate", "node_modules");
        if (!Directory.Exists(modules))
        {
            throw new InvalidOperationException("The validator is not installed: run tests/Deployment.Tests/setup.sh first.");
        }

        var result = Tool.Run("node", [Repository.Validator, .. arguments]);
        try
        {
            using var json = JsonDocument.Parse(result.Output);
            var errors = json.RootElement.GetProperty("errors").EnumerateArray()
                .Select(e => new ValidationError(e.GetProperty("source").GetString()!, e.GetProperty("message").GetString()!))
                .ToList();
            return new ValidationReport(json.RootElement.GetProperty("checked").GetInt32(), errors, result.ExitCode);
        }
        catch (JsonException)
        {
            throw new InvalidOperationException($"The validator printed no report: {result.Describe()}");
        }
    }
}
