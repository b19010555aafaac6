/* An intrusive AVL tree: the node lives inside the structure it orders, so
 * insertion and removal never allocate.  The caller descends the tree itself
 * (it knows the key) and links the new node where the descent ended, as with
 * Linux's rbtree; the tree only keeps itself balanced, so every search is
 * O(log n).  Not thread-safe: the owner of the tree holds its lock. */
#ifndef ZF_AVL_H
#define ZF_AVL_H

#include <stddef.h>

struct avl_node {
    struct avl_node *left, *right, *parent;
    int height; /* of the subtree rooted here; a leaf has height 1 */
};

struct avl_tree {
    struct avl_node *root;
};

#define avl_entry(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* Link @n as a child of @parent at *@link (the NULL child pointer where the
 * caller's descent ended; &t->root with @parent NULL for an empty tree),
 * then rebalance. */
void avl_link(struct avl_tree *t, struct avl_node *n, struct avl_node *parent,
              struct avl_node **link);
/* Remove @n (which must be in @t), then rebalance. */
void avl_erase(struct avl_tree *t, struct avl_node *n);

/* In-order traversal; NULL past either end. */
struct avl_node *avl_first(const struct avl_tree *t);
struct avl_node *avl_last(const struct avl_tree *t);
struct avl_node *avl_next(const struct avl_node *n);
struct avl_node *avl_prev(const struct avl_node *n);

/* For tests: the number of nodes when every parent link, height and balance
 * factor is right, else -1. */
long avl_check(const struct avl_tree *t);

#endif
