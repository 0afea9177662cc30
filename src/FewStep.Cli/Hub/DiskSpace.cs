namespace FewStep.Cli.Hub;

/// <summary>Free space of the file system holding a folder (statvfs on Linux, through <see cref="DriveInfo"/>).</summary>
public static class DiskSpace
{
    public static long? Available(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var existing = new DirectoryInfo(Path.GetFullPath(folder));
        while (existing is not null && !existing.Exists)
        {
            existing = existing.Parent;
        }

        if (existing is null)
        {
            return null;
        }

        try
        {
            return new DriveInfo(existing.FullName).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
