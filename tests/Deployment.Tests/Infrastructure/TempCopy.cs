namespace Platform.Deployment.Tests.Infrastructure;

/// <summary>A throw-away copy of some repository files, to prove a check fails on a deliberate defect.</summary>
public sealed class TempCopy : IDisposable
{
    private TempCopy(string root) => Root = root;

    public string Root { get; }

    public static TempCopy Of(IEnumerable<string> relativePaths)
    {
        var copy = new TempCopy(Directory.CreateTempSubdirectory("deployment-tests-").FullName);
        foreach (var relative in relativePaths)
        {
            var source = Path.Combine(Repository.Root, relative);
            if (Directory.Exists(source))
            {
                foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
                {
                    copy.Add(file, Path.Combine(copy.Root, relative, Path.GetRelativePath(source, file)));
                }
            }
            else
            {
                copy.Add(source, Path.Combine(copy.Root, relative));
            }
        }

        return copy;
    }

    public string PathOf(string relative) => Path.Combine(Root, relative);

    /// <summary>Replaces the first occurrence of <paramref name="from"/>, failing if it is not there.</summary>
    public void Replace(string relative, string from, string to)
    {
        var path = PathOf(relative);
        var text = File.ReadAllText(path);
        var index = text.IndexOf(from, StringComparison.Ordinal);
        if (index < 0)
        {
            throw new InvalidOperationException($"'{from}' is not in {relative}.");
        }

        File.WriteAllText(path, string.Concat(text.AsSpan(0, index), to, text.AsSpan(index + from.Length)));
    }

    public void Write(string relative, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(PathOf(relative))!);
        File.WriteAllText(PathOf(relative), text);
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);

    private void Add(string source, string target)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(source, target);
    }
}
