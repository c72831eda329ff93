/// open_clip's weight-decay rule: no decay for tensors with fewer than two dimensions, nor for names containing
/// "bn", "ln", "bias" or "logit_scale" (plain substring tests, exactly as open_clip's `exclude` lambda).
public func openCLIPDecays(name: String, ndim: Int) -> Bool {
    if ndim < 2 { return false }
    for marker in ["bn", "ln", "bias", "logit_scale"] where name.contains(marker) { return false }
    return true
}
