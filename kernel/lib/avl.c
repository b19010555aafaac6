/* AVL balancing (include/avl.h).  Heights are stored, so a rotation fixes
 * its two nodes' heights from their children and rebalancing walks up from
 * the change until a subtree's height stops changing. */
#include "avl.h"

static int height(const struct avl_node *n)
{
    return n ? n->height : 0;
}

static void fix_height(struct avl_node *n)
{
    int l = height(n->left), r = height(n->right);
    n->height = (l > r ? l : r) + 1;
}

/* Point whatever referred to @old (its parent's child link, or the root) at
 * @new. */
static void replace_child(struct avl_tree *t, struct avl_node *parent, struct avl_node *old,
                          struct avl_node *new)
{
    if (!parent)
        t->root = new;
    else if (parent->left == old)
        parent->left = new;
    else
        parent->right = new;
    if (new)
        new->parent = parent;
}

/* Rotate @n's right child up into its place; returns the new subtree root. */
static struct avl_node *rotate_left(struct avl_tree *t, struct avl_node *n)
{
    struct avl_node *r = n->right;
    replace_child(t, n->parent, n, r);
    n->right = r->left;
    if (r->left)
        r->left->parent = n;
    r->left = n;
    n->parent = r;
    fix_height(n);
    fix_height(r);
    return r;
}

static struct avl_node *rotate_right(struct avl_tree *t, struct avl_node *n)
{
    struct avl_node *l = n->left;
    replace_child(t, n->parent, n, l);
    n->left = l->right;
    if (l->right)
        l->right->parent = n;
    l->right = n;
    n->parent = l;
    fix_height(n);
    fix_height(l);
    return l;
}

/* Restore balance from @n up to the root. */
static void rebalance(struct avl_tree *t, struct avl_node *n)
{
    while (n) {
        int old = n->height;
        int bal = height(n->left) - height(n->right);
        if (bal > 1) {
            if (height(n->left->left) < height(n->left->right))
                rotate_left(t, n->left);
            n = rotate_right(t, n);
        } else if (bal < -1) {
            if (height(n->right->right) < height(n->right->left))
                rotate_right(t, n->right);
            n = rotate_left(t, n);
        } else {
            fix_height(n);
            /* Unchanged height after an insert or erase below: nothing above
             * can change any more. */
            if (n->height == old)
                return;
        }
        n = n->parent;
    }
}

void avl_link(struct avl_tree *t, struct avl_node *n, struct avl_node *parent,
              struct avl_node **link)
{
    n->left = n->right = NULL;
    n->parent = parent;
    n->height = 1;
    *link = n;
    if (parent)
        rebalance(t, parent);
}

void avl_erase(struct avl_tree *t, struct avl_node *n)
{
    struct avl_node *start; /* lowest node whose subtree changed */
    if (n->left && n->right) {
        /* Swap in the in-order successor, which has no left child. */
        struct avl_node *s = n->right;
        while (s->left)
            s = s->left;
        if (s->parent == n) {
            start = s;
        } else {
            start = s->parent;
            start->left = s->right;
            if (s->right)
                s->right->parent = start;
            s->right = n->right;
            n->right->parent = s;
        }
        s->left = n->left;
        n->left->parent = s;
        s->height = n->height;
        replace_child(t, n->parent, n, s);
    } else {
        struct avl_node *child = n->left ? n->left : n->right;
        start = n->parent;
        replace_child(t, n->parent, n, child);
    }
    n->left = n->right = n->parent = NULL;
    /* Heights above may shrink: walk all the way up (the early stop in
     * rebalance only applies once a node's height is unchanged). */
    rebalance(t, start);
}

struct avl_node *avl_first(const struct avl_tree *t)
{
    struct avl_node *n = t->root;
    while (n && n->left)
        n = n->left;
    return n;
}

struct avl_node *avl_last(const struct avl_tree *t)
{
    struct avl_node *n = t->root;
    while (n && n->right)
        n = n->right;
    return n;
}

struct avl_node *avl_next(const struct avl_node *n)
{
    if (n->right) {
        n = n->right;
        while (n->left)
            n = n->left;
        return (struct avl_node *)n;
    }
    while (n->parent && n->parent->right == n)
        n = n->parent;
    return n->parent;
}

struct avl_node *avl_prev(const struct avl_node *n)
{
    if (n->left) {
        n = n->left;
        while (n->right)
            n = n->right;
        return (struct avl_node *)n;
    }
    while (n->parent && n->parent->left == n)
        n = n->parent;
    return n->parent;
}

static long check(const struct avl_node *n, const struct avl_node *parent, int *h)
{
    if (!n) {
        *h = 0;
        return 0;
    }
    int hl, hr;
    if (n->parent != parent)
        return -1;
    long cl = check(n->left, n, &hl);
    long cr = check(n->right, n, &hr);
    if (cl < 0 || cr < 0 || hl - hr > 1 || hr - hl > 1)
        return -1;
    *h = (hl > hr ? hl : hr) + 1;
    if (n->height != *h)
        return -1;
    return cl + cr + 1;
}

long avl_check(const struct avl_tree *t)
{
    int h;
    return check(t->root, NULL, &h);
}
